import { Controller, Get, HttpCode, HttpStatus, Param, ParseUUIDPipe, Post, Query } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import { AdminOnly, CurrentUser } from '@app/auth';
import type { AuthenticatedUser } from '@app/auth';
import { ListUsersQueryDto } from './admin-users.dto';
import { AdminUsersService } from './admin-users.service';

@ApiTags('admin')
@Controller('admin/users')
@AdminOnly()
export class AdminUsersController {
  constructor(private readonly admin: AdminUsersService) {}

  @Get()
  @ApiOperation({ summary: 'Users, newest first, paged and searchable' })
  list(@Query() query: ListUsersQueryDto) {
    return this.admin.list(query);
  }

  @Post(':id/deactivate')
  @HttpCode(HttpStatus.OK)
  @ApiOperation({ summary: 'Deactivate a user and end their sessions' })
  deactivate(@CurrentUser() admin: AuthenticatedUser, @Param('id', new ParseUUIDPipe()) id: string) {
    return this.admin.deactivate(admin, id);
  }
}
