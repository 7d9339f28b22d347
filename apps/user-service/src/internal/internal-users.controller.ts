import { Controller, Get, Param, ParseUUIDPipe, Query } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { ApiErrors, PARAM_ERRORS, QUERY_ERRORS } from '@app/http';
import { InternalOnly } from '@app/auth';
import { ContactCard, InternalUsersService, LookupUserQuery } from './internal-users.service';

/** For the other services: service credential only, never routed by Traefik. */
@ApiTags('internal')
@Controller('internal/users')
@InternalOnly()
export class InternalUsersController {
  constructor(private readonly users: InternalUsersService) {}

  @Get('lookup')
  @ApiOperation({ summary: 'Who owns an email address (tenant invitations)' })
  @ApiOkResponse({ type: ContactCard })
  @ApiErrors(QUERY_ERRORS, { 404: ['USER_NOT_FOUND'] })
  lookup(@Query() query: LookupUserQuery) {
    return this.users.contactCardByEmail(query.email);
  }

  @Get(':id')
  @ApiOperation({ summary: 'Contact card of a user' })
  @ApiOkResponse({ type: ContactCard })
  @ApiErrors(PARAM_ERRORS, { 404: ['USER_NOT_FOUND'] })
  get(@Param('id', new ParseUUIDPipe()) id: string) {
    return this.users.contactCard(id);
  }
}
