import { Body, Controller, Get, HttpCode, HttpStatus, Post, Query, Req, Res } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { ApiCreatedResponse, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { ApiErrors, JSON_BODY_ERRORS } from '@app/http';
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
import { SessionCookies, SessionModeQuery } from './session-cookies';
import { Acknowledgement, EmailVerified, LoginResult, Registration, SessionsEnded } from './auth.views';
import { AccountSummary } from '../account-summary/account-summary.view';

@ApiTags('auth')
@Controller('auth')
export class AuthController {
  constructor(
    private readonly auth: AuthService,
    private readonly summary: AccountSummaryService,
    private readonly cookies: SessionCookies,
  ) {}

  @Post('register')
  @ApiOperation({ summary: 'Create an account; a verification link is emailed' })
  @ApiCreatedResponse({ type: Registration })
  @ApiErrors(JSON_BODY_ERRORS, {
    409: ['EMAIL_TAKEN'],
    429: ['RATE_LIMITED'],
    503: ['DEPENDENCY_UNAVAILABLE'],
  })
  register(@Body() dto: RegisterDto, @Client() client: ClientInfo) {
    return this.auth.register(dto, client);
  }

  @Post('login')
  @HttpCode(HttpStatus.OK)
  @ApiOperation({
    summary: 'Exchange email and password for an access token and a refresh token',
    description: 'With ?session=cookie the refresh token is set as an HttpOnly cookie instead of returned.',
  })
  @ApiOkResponse({ type: LoginResult })
  @ApiErrors(JSON_BODY_ERRORS, {
    401: ['INVALID_CREDENTIALS'],
    403: ['ACCOUNT_DEACTIVATED', 'EMAIL_NOT_VERIFIED'],
    429: ['RATE_LIMITED', 'ACCOUNT_LOCKED'],
    503: ['DEPENDENCY_UNAVAILABLE'],
  })
  async login(
    @Body() dto: LoginDto,
    @Query() mode: SessionModeQuery,
    @Client() client: ClientInfo,
    @Res({ passthrough: true }) reply: FastifyReply,
  ) {
    return this.cookies.deliver(await this.auth.login(dto, client), mode, reply);
  }

  @Post('refresh')
  @HttpCode(HttpStatus.OK)
  @ApiOperation({
    summary: 'Rotate the refresh token and get a new access token',
    description:
      'With ?session=cookie the refresh token is read from its cookie (X-CSRF-Token required) and both ' +
      'cookies are rotated.',
  })
  @ApiOkResponse({ type: LoginResult })
  @ApiErrors(JSON_BODY_ERRORS, {
    401: ['INVALID_REFRESH_TOKEN', 'REFRESH_TOKEN_REUSED', 'SESSION_ENDED'],
    403: ['CSRF_INVALID'],
    503: ['DEPENDENCY_UNAVAILABLE'],
  })
  async refresh(
    @Body() dto: RefreshDto,
    @Query() mode: SessionModeQuery,
    @Req() request: FastifyRequest,
    @Res({ passthrough: true }) reply: FastifyReply,
  ) {
    const token = this.cookies.refreshTokenOf(mode, dto.refresh_token, request);
    return this.cookies.deliver(await this.auth.refresh(token), mode, reply);
  }

  @Post('logout')
  @HttpCode(HttpStatus.OK)
  @Authenticated()
  @ApiOperation({
    summary: 'End this session: its tokens stop working in every service at once',
    description:
      'With ?session=cookie (X-CSRF-Token required) the session of the refresh cookie ends too and both ' +
      'cookies are cleared.',
  })
  @ApiOkResponse({ type: Acknowledgement })
  @ApiErrors({ 400: ['VALIDATION_FAILED'], 403: ['CSRF_INVALID'] })
  async logout(
    @CurrentUser() user: AuthenticatedUser,
    @Query() mode: SessionModeQuery,
    @Req() request: FastifyRequest,
    @Res({ passthrough: true }) reply: FastifyReply,
  ) {
    if (mode.session !== 'cookie') return this.auth.logout(user);
    const refreshToken = this.cookies.checkedRefreshCookie(request);
    const result = await this.auth.logout(user, refreshToken);
    this.cookies.clear(reply);
    return result;
  }

  @Post('logout-all')
  @HttpCode(HttpStatus.OK)
  @Authenticated()
  @ApiOperation({
    summary: 'Log out everywhere: every session of the caller ends, this one included',
    description: 'With ?session=cookie the session cookies are cleared too.',
  })
  @ApiOkResponse({ type: SessionsEnded })
  @ApiErrors({ 400: ['VALIDATION_FAILED'] })
  async logoutAll(
    @CurrentUser() user: AuthenticatedUser,
    @Query() mode: SessionModeQuery,
    @Res({ passthrough: true }) reply: FastifyReply,
  ) {
    const result = await this.auth.logoutEverywhere(user);
    if (mode.session === 'cookie') this.cookies.clear(reply);
    return result;
  }

  @Post('verify-email')
  @HttpCode(HttpStatus.OK)
  @ApiOperation({ summary: 'Mark the email address verified with the token from the emailed link' })
  @ApiOkResponse({ type: EmailVerified })
  @ApiErrors(JSON_BODY_ERRORS, { 400: ['INVALID_OR_EXPIRED_TOKEN'], 503: ['DEPENDENCY_UNAVAILABLE'] })
  verifyEmail(@Body() dto: TokenDto) {
    return this.auth.verifyEmail(dto.token);
  }

  @Post('resend-verification')
  @HttpCode(HttpStatus.OK)
  @ApiOperation({ summary: 'Email a new verification link (same answer whether or not the account exists)' })
  @ApiOkResponse({ type: Acknowledgement })
  @ApiErrors(JSON_BODY_ERRORS, { 429: ['RATE_LIMITED'], 503: ['DEPENDENCY_UNAVAILABLE'] })
  resendVerification(@Body() dto: EmailDto, @Client() client: ClientInfo) {
    return this.auth.resendVerification(dto.email, client);
  }

  @Post('password-reset')
  @HttpCode(HttpStatus.OK)
  @ApiOperation({ summary: 'Email a password reset link (same answer whether or not the account exists)' })
  @ApiOkResponse({ type: Acknowledgement })
  @ApiErrors(JSON_BODY_ERRORS, { 429: ['RATE_LIMITED'], 503: ['DEPENDENCY_UNAVAILABLE'] })
  passwordReset(@Body() dto: EmailDto, @Client() client: ClientInfo) {
    return this.auth.requestPasswordReset(dto.email, client);
  }

  @Post('password-reset-complete')
  @HttpCode(HttpStatus.OK)
  @ApiOperation({ summary: 'Set a new password with the emailed token; ends every session' })
  @ApiOkResponse({ type: Acknowledgement })
  @ApiErrors(JSON_BODY_ERRORS, { 400: ['INVALID_OR_EXPIRED_TOKEN'], 503: ['DEPENDENCY_UNAVAILABLE'] })
  passwordResetComplete(@Body() dto: PasswordResetCompleteDto) {
    return this.auth.completePasswordReset(dto);
  }

  @Post('password-change')
  @HttpCode(HttpStatus.OK)
  @Authenticated()
  @ApiOperation({ summary: 'Change the password; ends the other sessions' })
  @ApiOkResponse({ type: Acknowledgement })
  @ApiErrors(JSON_BODY_ERRORS, {
    400: ['CURRENT_PASSWORD_INCORRECT', 'PASSWORD_UNCHANGED'],
    401: ['SESSION_ENDED'],
    429: ['ACCOUNT_LOCKED'],
    503: ['DEPENDENCY_UNAVAILABLE'],
  })
  passwordChange(@CurrentUser() user: AuthenticatedUser, @Body() dto: PasswordChangeDto) {
    return this.auth.changePassword(user, dto);
  }

  @Get('me')
  @Authenticated()
  @ApiOperation({ summary: 'Profile with tenants, instance count and subscription from the other services' })
  @ApiOkResponse({ type: AccountSummary })
  @ApiErrors({ 404: ['ACCOUNT_NOT_FOUND'] })
  me(@CurrentUser() user: AuthenticatedUser, @Client() client: ClientInfo) {
    return this.summary.summarise(user, client.request_id);
  }
}
