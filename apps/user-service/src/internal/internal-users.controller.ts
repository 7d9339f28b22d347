import { Controller, Get, Param, ParseUUIDPipe, Query } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import { InternalOnly } from '@app/auth';
import { InternalUsersService, LookupUserQuery } from './internal-users.service';

/** For the other services: service credential only, never routed by Traefik. */
@ApiTags('internal')
@Controller('internal/users')
@InternalOnly()
export class InternalUsersController {
  constructor(private readonly users: InternalUsersService) {}

  /** Who owns an email address (tenant invitations). */
  @Get('lookup')
  lookup(@Query() query: LookupUserQuery) {
    return this.users.contactCardByEmail(query.email);
  }

  @Get(':id')
  get(@Param('id', new ParseUUIDPipe()) id: string) {
    return this.users.contactCard(id);
  }
}
