import { Body, Controller, Delete, Get, Put, Query } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { ApiErrors, JSON_BODY_ERRORS, QUERY_ERRORS } from '@app/http';
import { AccountDeleted } from './account-deleted.view';
import { ProfileView } from './user.views';
import { Authenticated, CurrentUser } from '@app/auth';
import type { AuthenticatedUser } from '@app/auth';
import { Client, type ClientInfo } from '../common/client-info';
import { DeleteAccountDto, DeleteAccountQueryDto, UpdateProfileDto } from './profile.dto';
import { ProfileService } from './profile.service';

@ApiTags('users')
@Controller('users')
@Authenticated()
export class ProfileController {
  constructor(private readonly profiles: ProfileService) {}

  @Get('profile')
  @ApiOperation({ summary: 'My profile' })
  @ApiOkResponse({ type: ProfileView })
  @ApiErrors({ 404: ['ACCOUNT_NOT_FOUND'] })
  get(@CurrentUser() user: AuthenticatedUser) {
    return this.profiles.get(user);
  }

  @Put('profile')
  @ApiOperation({ summary: 'Update the profile; every field sent is stored' })
  @ApiOkResponse({ type: ProfileView })
  @ApiErrors(JSON_BODY_ERRORS, { 404: ['ACCOUNT_NOT_FOUND'] })
  update(@CurrentUser() user: AuthenticatedUser, @Body() dto: UpdateProfileDto) {
    return this.profiles.update(user, dto);
  }

  @Delete('account')
  @ApiOperation({
    summary:
      'Deactivate the account (?confirmation=DELETE, body {password}); ends every session. 409 while ' +
      'instances live, unless terminate_instances=true',
  })
  @ApiOkResponse({ type: AccountDeleted })
  @ApiErrors(JSON_BODY_ERRORS, QUERY_ERRORS, {
    403: ['PASSWORD_INCORRECT'],
    409: ['INSTANCES_STILL_LIVE'],
    429: ['ACCOUNT_LOCKED'],
    503: ['DEPENDENCY_UNAVAILABLE'],
  })
  delete(
    @CurrentUser() user: AuthenticatedUser,
    @Query() query: DeleteAccountQueryDto,
    @Body() body: DeleteAccountDto,
    @Client() client: ClientInfo,
  ) {
    return this.profiles.deactivateOwnAccount(user, {
      password: body.password,
      terminateInstances: query.terminate_instances === true,
      requestId: client.request_id,
    });
  }
}
