import { Inject, Injectable } from '@nestjs/common';
import type { Redis } from 'ioredis';
import { AUTH_SETTINGS, authRedisKeys } from '@app/auth';
import type { AuthSettings } from '@app/auth';
import { APP_CONFIG } from '@app/config';
import { REDIS_CLIENT } from '@app/redis';
import { Clock } from '../common/clock';
import { hashToken, RandomSource } from '../common/random';
import type { Config } from '../config/env';
import { SessionEntity, SessionProvider } from './session.entity';
import { RotationResult, SessionsRepository } from './sessions.repository';

export type RevokeReason =
  | 'logout'
  | 'logout_all'
  | 'refresh_token_reuse'
  | 'password_reset'
  | 'password_change'
  | 'account_deleted'
  | 'deactivated_by_admin'
  | 'account_inactive'
  | 'provider_refused';

export interface StartSession {
  userId: string;
  rememberMe: boolean;
  ip: string | null;
  userAgent: string | null;
  provider: SessionProvider;
  providerRefreshToken: string | null;
}

export interface StartedSession {
  session: SessionEntity;
  refreshToken: string;
}

/**
 * Sessions live in Postgres (the truth, with their refresh tokens) and in Redis as `auth:session:<sid>`
 * = user id, which every service's guard reads on each request: deleting that key ends the session
 * everywhere at once.
 */
@Injectable()
export class SessionService {
  private readonly keys;

  constructor(
    private readonly repository: SessionsRepository,
    private readonly clock: Clock,
    private readonly random: RandomSource,
    @Inject(REDIS_CLIENT) private readonly redis: Redis,
    @Inject(APP_CONFIG) private readonly config: Config,
    @Inject(AUTH_SETTINGS) settings: AuthSettings,
  ) {
    this.keys = authRedisKeys(settings.redisPrefix);
  }

  async start(input: StartSession): Promise<StartedSession> {
    const now = this.clock.now();
    const lifetime = input.rememberMe
      ? this.config.SESSION_REMEMBER_ME_TTL_SECONDS
      : this.config.SESSION_TTL_SECONDS;
    const session = Object.assign(new SessionEntity(), {
      id: this.random.uuid(),
      userId: input.userId,
      rememberMe: input.rememberMe,
      provider: input.provider,
      providerRefreshToken: input.providerRefreshToken,
      ipAddress: input.ip?.slice(0, 64) ?? null,
      userAgent: input.userAgent?.slice(0, 512) ?? null,
      createdAt: now,
      expiresAt: new Date(now.getTime() + lifetime * 1000),
      lastRefreshedAt: null,
      revokedAt: null,
      revokedReason: null,
    });
    const refreshToken = this.random.token();
    await this.repository.create(session, hashToken(refreshToken));
    await this.markAlive(session);
    return { session, refreshToken };
  }

  /**
   * Rotates a refresh token. On success the session's Redis liveness is written again (it may have been
   * lost with a Redis restart; Postgres is the truth), while the session row is still locked: a logout
   * racing the refresh revokes the row only after that write, so its DEL always comes last and the session
   * cannot come back. A reused token revokes the session.
   */
  async rotate(refreshToken: string): Promise<{ result: RotationResult; refreshToken: string }> {
    const next = this.random.token();
    const result = await this.repository.rotate(
      hashToken(refreshToken),
      hashToken(next),
      this.clock.now(),
      (session) => this.markAlive(session),
    );
    if (result.outcome === 'reused') await this.revoke(result.session.id, 'refresh_token_reuse');
    return { result, refreshToken: next };
  }

  setProviderRefreshToken(sessionId: string, providerRefreshToken: string): Promise<void> {
    return this.repository.setProviderRefreshToken(sessionId, providerRefreshToken);
  }

  findById(id: string): Promise<SessionEntity | null> {
    return this.repository.findById(id);
  }

  /** The session a refresh token (current or already rotated) belongs to. */
  findByRefreshToken(refreshToken: string): Promise<SessionEntity | null> {
    return this.repository.findByRefreshTokenHash(hashToken(refreshToken));
  }

  /** Revokes in Postgres first (waiting for a refresh holding the row), then drops the Redis liveness. */
  async revoke(sessionId: string, reason: RevokeReason): Promise<void> {
    await this.repository.revoke(sessionId, reason, this.clock.now());
    await this.redis.del(this.keys.session(sessionId));
  }

  /** Ends every session of the user but `exceptSessionId`. */
  async revokeAllForUser(userId: string, reason: RevokeReason, exceptSessionId?: string): Promise<number> {
    const ids = await this.repository.revokeAllForUser(userId, reason, this.clock.now(), exceptSessionId);
    if (ids.length > 0) await this.redis.del(...ids.map((id) => this.keys.session(id)));
    return ids.length;
  }

  private async markAlive(session: SessionEntity): Promise<void> {
    const ttl = Math.ceil((session.expiresAt.getTime() - this.clock.now().getTime()) / 1000);
    if (ttl > 0) await this.redis.set(this.keys.session(session.id), session.userId, 'EX', ttl);
  }
}
