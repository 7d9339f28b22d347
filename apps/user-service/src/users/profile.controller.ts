import { Body, Controller, Delete, Get, Put, Query } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { ApiErrors, JSON_BODY_ERRORS, QUERY_ERRORS } from '@app/http';
import { Acknowledgement } from '../auth/auth.views';
import { ProfileView } from './user.views';
import { Authenticated, CurrentUser } from '@app/auth';
import type { AuthenticatedUser } from '@app/auth';
import { DeleteAccountQueryDto, UpdateProfileDto } from './profile.dto';
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
  @ApiOperation({ summary: 'Deactivate the account (?confirmation=DELETE); ends every session' })
  @ApiOkResponse({ type: Acknowledgement })
  @ApiErrors(QUERY_ERRORS)
  delete(@CurrentUser() user: AuthenticatedUser, @Query() _query: DeleteAccountQueryDto) {
    return this.profiles.deactivateOwnAccount(user);
  }
}
