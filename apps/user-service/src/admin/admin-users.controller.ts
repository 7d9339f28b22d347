import { Controller, Get, HttpCode, HttpStatus, Param, ParseUUIDPipe, Post, Query } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { ApiErrors, PARAM_ERRORS, QUERY_ERRORS } from '@app/http';
import { AdminUserView } from '../users/user.views';
import { AdminOnly, CurrentUser } from '@app/auth';
import type { AuthenticatedUser } from '@app/auth';
import { ListUsersQueryDto, UserPage } from './admin-users.dto';
import { AdminUsersService } from './admin-users.service';

@ApiTags('admin')
@Controller('admin/users')
@AdminOnly()
export class AdminUsersController {
  constructor(private readonly admin: AdminUsersService) {}

  @Get()
  @ApiOperation({ summary: 'Users, newest first, paged and searchable' })
  @ApiOkResponse({ type: UserPage })
  @ApiErrors(QUERY_ERRORS)
  list(@Query() query: ListUsersQueryDto) {
    return this.admin.list(query);
  }

  @Post(':id/deactivate')
  @HttpCode(HttpStatus.OK)
  @ApiOperation({ summary: 'Deactivate a user and end their sessions' })
  @ApiOkResponse({ type: AdminUserView })
  @ApiErrors(PARAM_ERRORS, { 404: ['USER_NOT_FOUND'], 409: ['CANNOT_DEACTIVATE_SELF'] })
  deactivate(@CurrentUser() admin: AuthenticatedUser, @Param('id', new ParseUUIDPipe()) id: string) {
    return this.admin.deactivate(admin, id);
  }
}
