import { HttpStatus, Inject, Injectable } from '@nestjs/common';
import { Counter } from 'prom-client';
import type { AuthenticatedUser } from '@app/auth';
import { APP_CONFIG } from '@app/config';
import { ConflictError, DomainError } from '@app/http';
import { Mailer } from '@app/mail';
import { MetricsRegistry } from '@app/metrics';
import { BackgroundTasks } from '../common/background-tasks';
import { counter } from '../common/metrics';
import type { ClientInfo } from '../common/client-info';
import { Clock } from '../common/clock';
import { RandomSource } from '../common/random';
import type { Config } from '../config/env';
import { EmailTokenService } from '../email-tokens/email-token.service';
import { LoginLockout } from '../security/login-lockout';
import { PasswordHasher } from '../security/password-hasher';
import { RateLimiter, RateRule } from '../security/rate-limiter';
import { SessionEntity } from '../sessions/session.entity';
import { SessionService } from '../sessions/session.service';
import { AccessTokenIssuer } from '../signing-keys/access-token.issuer';
import { SupabaseAuthGateway } from '../supabase/supabase-auth.gateway';
import { UserEntity } from '../users/user.entity';
import { customerView } from '../users/user.views';
import { UsersRepository } from '../users/users.repository';
import {
  AccountDeactivatedError,
  CurrentPasswordIncorrectError,
  EmailNotVerifiedError,
  InvalidCredentialsError,
  InvalidEmailTokenError,
  RefreshRefusedError,
} from './auth.errors';
import type {
  Acknowledgement,
  EmailVerified,
  LoginResult,
  Registration,
  SessionsEnded,
  TokenPair,
} from './auth.views';
import type { LoginDto, PasswordChangeDto, PasswordResetCompleteDto, RegisterDto } from './auth.dto';

type CredentialCheck =
  | { outcome: 'ok'; user: UserEntity; provider: 'local' | 'supabase'; providerRefreshToken: string | null }
  | { outcome: 'invalid' }
  | { outcome: 'unverified'; user: UserEntity };

/** Registration, login, token refresh, logout, email verification and password flows. */
@Injectable()
export class AuthService {
  private readonly logins: Counter<'result'>;

  constructor(
    private readonly users: UsersRepository,
    private readonly sessions: SessionService,
    private readonly accessTokens: AccessTokenIssuer,
    private readonly emailTokens: EmailTokenService,
    private readonly hasher: PasswordHasher,
    private readonly limiter: RateLimiter,
    private readonly lockout: LoginLockout,
    private readonly mailer: Mailer,
    private readonly tasks: BackgroundTasks,
    private readonly supabase: SupabaseAuthGateway,
    private readonly clock: Clock,
    private readonly random: RandomSource,
    @Inject(APP_CONFIG) private readonly config: Config,
    metrics: MetricsRegistry,
  ) {
    this.logins = counter(metrics, {
      name: 'auth_logins_total',
      help: 'Login attempts by result',
      labelNames: ['result'],
    });
  }

  private rules(action: 'login' | 'register' | 'email', ip: string, email: string): RateRule[] {
    const c = this.config;
    const windowSeconds = c.RATE_LIMIT_WINDOW_SECONDS;
    const limits = {
      login: [c.RATE_LIMIT_LOGIN_PER_IP, c.RATE_LIMIT_LOGIN_PER_EMAIL],
      register: [c.RATE_LIMIT_REGISTER_PER_IP, c.RATE_LIMIT_REGISTER_PER_EMAIL],
      email: [c.RATE_LIMIT_EMAIL_PER_IP, c.RATE_LIMIT_EMAIL_PER_EMAIL],
    }[action];
    return [
      { bucket: `${action}:ip`, subject: ip, limit: limits[0]!, windowSeconds },
      { bucket: `${action}:email`, subject: email, limit: limits[1]!, windowSeconds },
    ];
  }

  private link(path: string, token: string): string {
    return `${this.config.PORTAL_URL}${path}?token=${encodeURIComponent(token)}`;
  }

  async register(dto: RegisterDto, client: ClientInfo): Promise<Registration> {
    await this.limiter.consume(this.rules('register', client.ip, dto.email));
    if (await this.users.findByEmail(dto.email)) {
      throw new ConflictError('EMAIL_TAKEN', 'An account with this email already exists');
    }
    let passwordHash: string | null = null;
    let supabaseUserId: string | null = null;
    let verified = false;
    if (this.supabase.enabled) {
      const created = await this.supabase.signUp(
        dto.email,
        dto.password,
        { first_name: dto.first_name, last_name: dto.last_name },
        `${this.config.PORTAL_URL}/verify-email`,
      );
      if (created.outcome === 'exists') {
        throw new ConflictError('EMAIL_TAKEN', 'An account with this email already exists');
      }
      supabaseUserId = created.supabaseUserId;
      verified = created.emailConfirmed;
    } else {
      passwordHash = await this.hasher.hash(dto.password);
    }
    const now = this.clock.now();
    const user = Object.assign(new UserEntity(), {
      id: this.random.uuid(),
      email: dto.email,
      passwordHash,
      firstName: dto.first_name,
      lastName: dto.last_name,
      phone: dto.phone ?? null,
      company: dto.company ?? null,
      country: dto.country ?? null,
      timezone: dto.timezone ?? null,
      language: dto.language ?? null,
      role: 'customer',
      isActive: true,
      isVerified: verified,
      emailVerifiedAt: verified ? now : null,
      supabaseUserId,
      marketingConsent: dto.marketing_consent ?? false,
      termsAcceptedAt: now,
      deactivatedAt: null,
      createdAt: now,
      updatedAt: now,
    } satisfies UserEntity);
    if (!(await this.users.insert(user))) {
      throw new ConflictError('EMAIL_TAKEN', 'An account with this email already exists');
    }
    // Supabase sends its own confirmation email for the accounts it holds.
    const verificationToken =
      verified || supabaseUserId
        ? null
        : await this.emailTokens.issue(user.id, 'verify_email', this.config.EMAIL_VERIFICATION_TTL_SECONDS);
    this.tasks.run('registration emails', async () => {
      await this.mailer.send(user.email, 'welcome', {
        first_name: user.firstName,
        login_url: `${this.config.PORTAL_URL}/login`,
      });
      if (verificationToken) await this.sendVerification(user, verificationToken);
    });
    return {
      success: true as const,
      message: verified
        ? 'Account created'
        : 'Account created: follow the link we emailed you to verify your address, then log in',
      customer: customerView(user),
      requires_verification: !verified,
    };
  }

  private sendVerification(user: UserEntity, token: string) {
    return this.mailer.send(user.email, 'verify_email', {
      first_name: user.firstName,
      verification_url: this.link('/verify-email', token),
      expires_in_hours: Math.round(this.config.EMAIL_VERIFICATION_TTL_SECONDS / 3600),
    });
  }

  async verifyEmail(token: string): Promise<EmailVerified> {
    let user: UserEntity | null = null;
    const userId = await this.emailTokens.consume(token, 'verify_email');
    if (userId) user = await this.users.findById(userId);
    else if (this.supabase.enabled) {
      const supabaseUserId = await this.supabase.confirmEmail(token);
      if (supabaseUserId) user = await this.users.findBySupabaseId(supabaseUserId);
    }
    if (!user || !user.isActive) throw new InvalidEmailTokenError();
    await this.users.markVerified(user.id, this.clock.now());
    return {
      success: true as const,
      message: 'Email address verified: you can log in',
      customer: customerView({ ...user, isVerified: true }),
    };
  }

  /** Same answer, and the same work before answering, whether or not the email belongs to an account. */
  async resendVerification(email: string, client: ClientInfo): Promise<Acknowledgement> {
    await this.limiter.consume(this.rules('email', client.ip, email));
    this.tasks.run('resend verification', async () => {
      const user = await this.users.findByEmail(email);
      if (!user || !user.isActive || user.isVerified) return;
      if (user.supabaseUserId) {
        if (this.supabase.enabled) {
          await this.supabase.resendConfirmation(email, `${this.config.PORTAL_URL}/verify-email`);
        }
        return;
      }
      const token = await this.emailTokens.issue(
        user.id,
        'verify_email',
        this.config.EMAIL_VERIFICATION_TTL_SECONDS,
      );
      await this.sendVerification(user, token);
    });
    return {
      success: true,
      message: 'If that address belongs to an account awaiting verification, a new link is on its way',
    };
  }

  private async checkCredentials(email: string, password: string): Promise<CredentialCheck> {
    const user = await this.users.findByEmail(email);
    if (this.supabase.enabled && (!user || user.supabaseUserId)) {
      const result = await this.supabase.signIn(email, password);
      if (result.outcome === 'invalid_credentials') return { outcome: 'invalid' };
      if (result.outcome === 'email_not_confirmed') {
        return user ? { outcome: 'unverified', user } : { outcome: 'invalid' };
      }
      // The link is the Supabase user id stored on the local user, never our own id.
      const linked = await this.users.findBySupabaseId(result.supabaseUserId);
      if (!linked) return { outcome: 'invalid' };
      if (!linked.isVerified) {
        // Supabase lets in only confirmed addresses: the confirmation happened there.
        await this.users.markVerified(linked.id, this.clock.now());
        linked.isVerified = true;
      }
      return { outcome: 'ok', user: linked, provider: 'supabase', providerRefreshToken: result.refreshToken };
    }
    if (!user?.passwordHash) {
      await this.hasher.verifyNothing(password);
      return { outcome: 'invalid' };
    }
    if (!(await this.hasher.verify(user.passwordHash, password))) return { outcome: 'invalid' };
    if (this.hasher.needsRehash(user.passwordHash)) {
      await this.users.setPasswordHash(user.id, await this.hasher.hash(password), this.clock.now());
    }
    return user.isVerified
      ? { outcome: 'ok', user, provider: 'local', providerRefreshToken: null }
      : { outcome: 'unverified', user };
  }

  async login(dto: LoginDto, client: ClientInfo): Promise<LoginResult> {
    await this.limiter.consume(this.rules('login', client.ip, dto.email));
    await this.lockout.assertNotLocked(dto.email);
    const check = await this.checkCredentials(dto.email, dto.password);
    if (check.outcome === 'invalid') {
      this.logins.inc({ result: 'invalid_credentials' });
      await this.lockout.recordFailure(dto.email);
      throw new InvalidCredentialsError();
    }
    await this.lockout.clear(dto.email);
    if (!check.user.isActive) {
      this.logins.inc({ result: 'deactivated' });
      throw new AccountDeactivatedError();
    }
    if (check.outcome === 'unverified') {
      this.logins.inc({ result: 'unverified' });
      throw new EmailNotVerifiedError();
    }
    const { session, refreshToken } = await this.sessions.start({
      userId: check.user.id,
      rememberMe: dto.remember_me ?? false,
      ip: client.ip,
      userAgent: client.user_agent,
      provider: check.provider,
      providerRefreshToken: check.providerRefreshToken,
    });
    this.logins.inc({ result: 'success' });
    return {
      customer: customerView(check.user),
      tokens: await this.tokens(check.user, session, refreshToken),
    };
  }

  private async tokens(user: UserEntity, session: SessionEntity, refreshToken: string): Promise<TokenPair> {
    const access = await this.accessTokens.issue({
      sub: user.id,
      email: user.email,
      role: user.role,
      sid: session.id,
    });
    return {
      access_token: access.access_token,
      refresh_token: refreshToken,
      token_type: 'Bearer',
      expires_at: access.expires_at.toISOString(),
      expires_in: this.config.ACCESS_TOKEN_TTL_SECONDS,
      refresh_expires_at: session.expiresAt.toISOString(),
    };
  }

  /** `refreshToken` null: the cookie variant found no refresh cookie. */
  async refresh(refreshToken: string | null): Promise<LoginResult> {
    if (!refreshToken) throw new RefreshRefusedError('INVALID_REFRESH_TOKEN');
    const { result, refreshToken: next } = await this.sessions.rotate(refreshToken);
    if (result.outcome === 'unknown') throw new RefreshRefusedError('INVALID_REFRESH_TOKEN');
    if (result.outcome === 'reused') throw new RefreshRefusedError('REFRESH_TOKEN_REUSED');
    if (result.outcome === 'ended') throw new RefreshRefusedError('SESSION_ENDED');
    const session = result.session;
    const user = await this.users.findById(session.userId);
    if (!user || !user.isActive) {
      await this.sessions.revoke(session.id, 'account_inactive');
      throw new RefreshRefusedError('SESSION_ENDED');
    }
    if (session.provider === 'supabase') {
      const renewed =
        session.providerRefreshToken && (await this.supabase.refresh(session.providerRefreshToken));
      if (!renewed) {
        await this.sessions.revoke(session.id, 'provider_refused');
        throw new RefreshRefusedError('SESSION_ENDED');
      }
      await this.sessions.setProviderRefreshToken(session.id, renewed);
    }
    return { customer: customerView(user), tokens: await this.tokens(user, session, next) };
  }

  /** Ends the caller's session, and the one of the presented refresh token when it is the caller's too. */
  async logout(user: AuthenticatedUser, refreshToken: string | null = null): Promise<Acknowledgement> {
    await this.sessions.revoke(user.session_id, 'logout');
    const other = refreshToken ? await this.sessions.findByRefreshToken(refreshToken) : null;
    if (other && other.userId === user.id && other.id !== user.session_id) {
      await this.sessions.revoke(other.id, 'logout');
    }
    return { success: true, message: 'Logged out' };
  }

  /** Ends every session of the caller, the current one included. */
  async logoutEverywhere(user: AuthenticatedUser): Promise<SessionsEnded> {
    const ended = await this.sessions.revokeAllForUser(user.id, 'logout_all');
    return { success: true, message: 'Logged out everywhere', sessions_ended: ended };
  }

  /** Same answer, and the same work before answering, whether or not the email belongs to an account. */
  async requestPasswordReset(email: string, client: ClientInfo): Promise<Acknowledgement> {
    await this.limiter.consume(this.rules('email', client.ip, email));
    this.tasks.run('password reset email', async () => {
      const user = await this.users.findByEmail(email);
      if (!user || !user.isActive) return;
      if (user.supabaseUserId) {
        if (this.supabase.enabled) {
          await this.supabase.requestPasswordReset(email, `${this.config.PORTAL_URL}/reset-password`);
        }
        return;
      }
      const token = await this.emailTokens.issue(
        user.id,
        'password_reset',
        this.config.PASSWORD_RESET_TTL_SECONDS,
      );
      await this.mailer.send(user.email, 'password_reset', {
        first_name: user.firstName,
        reset_url: this.link('/reset-password', token),
        expires_in_minutes: Math.round(this.config.PASSWORD_RESET_TTL_SECONDS / 60),
      });
    });
    return {
      success: true,
      message: 'If that address belongs to an account, a password reset link is on its way',
    };
  }

  /** Sets the new password and ends every session of the user. */
  async completePasswordReset(dto: PasswordResetCompleteDto): Promise<Acknowledgement> {
    let user: UserEntity | null = null;
    const userId = await this.emailTokens.consume(dto.token, 'password_reset');
    if (userId) {
      user = await this.users.findById(userId);
      if (!user || !user.isActive) throw new InvalidEmailTokenError();
      await this.users.setPasswordHash(user.id, await this.hasher.hash(dto.new_password), this.clock.now());
      await this.emailTokens.invalidateAll(user.id, 'password_reset');
    } else if (this.supabase.enabled) {
      const supabaseUserId = await this.supabase.completePasswordReset(dto.token, dto.new_password);
      user = supabaseUserId ? await this.users.findBySupabaseId(supabaseUserId) : null;
    }
    if (!user) throw new InvalidEmailTokenError();
    await this.sessions.revokeAllForUser(user.id, 'password_reset');
    await this.lockout.clear(user.email);
    return { success: true, message: 'Password changed: every session was logged out, log in again' };
  }

  /** Changes the password of the caller and ends their other sessions. */
  async changePassword(caller: AuthenticatedUser, dto: PasswordChangeDto): Promise<Acknowledgement> {
    const user = await this.users.findById(caller.id);
    if (!user) throw new RefreshRefusedError('SESSION_ENDED');
    await this.lockout.assertNotLocked(user.email);
    if (dto.new_password === dto.current_password) {
      throw new DomainError(
        HttpStatus.BAD_REQUEST,
        'PASSWORD_UNCHANGED',
        'The new password must differ from the current one',
      );
    }
    let accepted: boolean;
    if (user.supabaseUserId && this.supabase.enabled) {
      accepted = await this.supabase.changePassword(user.email, dto.current_password, dto.new_password);
    } else if (user.passwordHash && (await this.hasher.verify(user.passwordHash, dto.current_password))) {
      await this.users.setPasswordHash(user.id, await this.hasher.hash(dto.new_password), this.clock.now());
      accepted = true;
    } else {
      accepted = false;
    }
    if (!accepted) {
      await this.lockout.recordFailure(user.email);
      throw new CurrentPasswordIncorrectError();
    }
    await this.sessions.revokeAllForUser(user.id, 'password_change', caller.session_id);
    return { success: true, message: 'Password changed: your other sessions were logged out' };
  }
}
