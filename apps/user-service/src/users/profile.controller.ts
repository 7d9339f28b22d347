import { Body, Controller, Delete, Get, Put, Query } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
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
  get(@CurrentUser() user: AuthenticatedUser) {
    return this.profiles.get(user);
  }

  @Put('profile')
  @ApiOperation({ summary: 'Update the profile; every field sent is stored' })
  update(@CurrentUser() user: AuthenticatedUser, @Body() dto: UpdateProfileDto) {
    return this.profiles.update(user, dto);
  }

  @Delete('account')
  @ApiOperation({ summary: 'Deactivate the account (?confirmation=DELETE); ends every session' })
  delete(@CurrentUser() user: AuthenticatedUser, @Query() _query: DeleteAccountQueryDto) {
    return this.profiles.deactivateOwnAccount(user);
  }
}
