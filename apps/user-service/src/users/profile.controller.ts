import { Body, Controller, Delete, Get, Put, Query } from '@nestjs/common';
import { ApiConflictResponse, ApiForbiddenResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
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
  get(@CurrentUser() user: AuthenticatedUser) {
    return this.profiles.get(user);
  }

  @Put('profile')
  @ApiOperation({ summary: 'Update the profile; every field sent is stored' })
  update(@CurrentUser() user: AuthenticatedUser, @Body() dto: UpdateProfileDto) {
    return this.profiles.update(user, dto);
  }

  @Delete('account')
  @ApiOperation({
    summary:
      'Deactivate the account (?confirmation=DELETE, body {password}); ends every session. 409 while ' +
      'instances live, unless terminate_instances=true',
  })
  @ApiForbiddenResponse({ description: 'PASSWORD_INCORRECT' })
  @ApiConflictResponse({ description: 'INSTANCES_STILL_LIVE, with the live instances in details' })
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
