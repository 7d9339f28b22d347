import { Body, Controller, Get, HttpCode, HttpStatus, Post } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import { Authenticated, CurrentUser } from '@app/auth';
import type { AuthenticatedUser } from '@app/auth';
import { AccountSummaryService } from '../account-summary/account-summary.service';
import { Client } from '../common/client-info';
import type { ClientInfo } from '../common/client-info';
import {
  EmailDto,
  LoginDto,
  PasswordChangeDto,
  PasswordResetCompleteDto,
  RefreshDto,
  RegisterDto,
  TokenDto,
} from './auth.dto';
import { AuthService } from './auth.service';

@ApiTags('auth')
@Controller('auth')
export class AuthController {
  constructor(
    private readonly auth: AuthService,
    private readonly summary: AccountSummaryService,
  ) {}

  @Post('register')
  @ApiOperation({ summary: 'Create an account; a verification link is emailed' })
  register(@Body() dto: RegisterDto, @Client() client: ClientInfo) {
    return this.auth.register(dto, client);
  }

  @Post('login')
  @HttpCode(HttpStatus.OK)
  @ApiOperation({ summary: 'Exchange email and password for an access token and a refresh token' })
  login(@Body() dto: LoginDto, @Client() client: ClientInfo) {
    return this.auth.login(dto, client);
  }

  @Post('refresh')
  @HttpCode(HttpStatus.OK)
  @ApiOperation({ summary: 'Rotate the refresh token and get a new access token' })
  refresh(@Body() dto: RefreshDto) {
    return this.auth.refresh(dto.refresh_token);
  }

  @Post('logout')
  @HttpCode(HttpStatus.OK)
  @Authenticated()
  @ApiOperation({ summary: 'End this session: its tokens stop working in every service at once' })
  logout(@CurrentUser() user: AuthenticatedUser) {
    return this.auth.logout(user);
  }

  @Post('verify-email')
  @HttpCode(HttpStatus.OK)
  verifyEmail(@Body() dto: TokenDto) {
    return this.auth.verifyEmail(dto.token);
  }

  @Post('resend-verification')
  @HttpCode(HttpStatus.OK)
  resendVerification(@Body() dto: EmailDto, @Client() client: ClientInfo) {
    return this.auth.resendVerification(dto.email, client);
  }

  @Post('password-reset')
  @HttpCode(HttpStatus.OK)
  @ApiOperation({ summary: 'Email a password reset link (same answer whether or not the account exists)' })
  passwordReset(@Body() dto: EmailDto, @Client() client: ClientInfo) {
    return this.auth.requestPasswordReset(dto.email, client);
  }

  @Post('password-reset-complete')
  @HttpCode(HttpStatus.OK)
  @ApiOperation({ summary: 'Set a new password with the emailed token; ends every session' })
  passwordResetComplete(@Body() dto: PasswordResetCompleteDto) {
    return this.auth.completePasswordReset(dto);
  }

  @Post('password-change')
  @HttpCode(HttpStatus.OK)
  @Authenticated()
  @ApiOperation({ summary: 'Change the password; ends the other sessions' })
  passwordChange(@CurrentUser() user: AuthenticatedUser, @Body() dto: PasswordChangeDto) {
    return this.auth.changePassword(user, dto);
  }

  @Get('me')
  @Authenticated()
  @ApiOperation({ summary: 'Profile with tenants, instance count and subscription from the other services' })
  me(@CurrentUser() user: AuthenticatedUser, @Client() client: ClientInfo) {
    return this.summary.summarise(user, client.request_id);
  }
}
