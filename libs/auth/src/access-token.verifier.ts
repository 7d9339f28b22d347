import { Inject, Injectable } from '@nestjs/common';
import type { Redis } from 'ioredis';
import { errors, JWTPayload, jwtVerify, ProtectedHeaderParameters } from 'jose';
import { DependencyUnavailableError, DomainError } from '@app/http';
import { REDIS_CLIENT } from '@app/redis';
import { AUTH_SETTINGS } from './auth.env';
import type { AuthSettings } from './auth.env';
import { AuthenticationError } from './auth.errors';
import {
  ACCESS_TOKEN_ALGORITHM,
  ACCESS_TOKEN_AUDIENCE,
  ACCESS_TOKEN_ISSUER,
  AuthenticatedUser,
  authRedisKeys,
  USER_ROLES,
  UserRole,
} from './auth.types';
import { JwksStore } from './jwks.store';

const MAX_TOKEN_LENGTH = 4096;

function isRole(value: unknown): value is UserRole {
  return typeof value === 'string' && (USER_ROLES as readonly string[]).includes(value);
}

/**
 * Verifies an access token the same way in every service: ES256 signature by a published key, issuer,
 * audience and expiry, then the session's liveness in Redis, so a logout is effective on the next request.
 */
@Injectable()
export class AccessTokenVerifier {
  private readonly keys;

  constructor(
    private readonly jwks: JwksStore,
    @Inject(REDIS_CLIENT) private readonly redis: Redis,
    @Inject(AUTH_SETTINGS) settings: AuthSettings,
  ) {
    this.keys = authRedisKeys(settings.redisPrefix);
  }

  async verify(token: string): Promise<AuthenticatedUser> {
    if (!token || token.length > MAX_TOKEN_LENGTH) throw new AuthenticationError('TOKEN_INVALID');
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(token, (header: ProtectedHeaderParameters) => this.keyFor(header), {
        algorithms: [ACCESS_TOKEN_ALGORITHM],
        issuer: ACCESS_TOKEN_ISSUER,
        audience: ACCESS_TOKEN_AUDIENCE,
        requiredClaims: ['sub', 'sid', 'exp', 'iat'],
      }));
    } catch (error) {
      if (error instanceof DomainError) throw error;
      if (error instanceof errors.JWTExpired) throw new AuthenticationError('TOKEN_EXPIRED');
      throw new AuthenticationError('TOKEN_INVALID');
    }
    const { sub, sid, email, role } = payload;
    if (typeof sub !== 'string' || typeof sid !== 'string' || typeof email !== 'string' || !isRole(role)) {
      throw new AuthenticationError('TOKEN_INVALID');
    }
    let owner: string | null;
    try {
      owner = await this.redis.get(this.keys.session(sid));
    } catch (error) {
      throw new DependencyUnavailableError('redis', `cannot check the session: ${String(error)}`);
    }
    if (owner !== sub) throw new AuthenticationError('SESSION_REVOKED');
    return { id: sub, email, role, session_id: sid };
  }

  private async keyFor(header: ProtectedHeaderParameters) {
    if (!header.kid) throw new AuthenticationError('TOKEN_INVALID', 'The access token names no signing key');
    const key = await this.jwks.keyFor(header.kid);
    if (!key) throw new AuthenticationError('TOKEN_INVALID', 'The access token is signed by an unknown key');
    return key;
  }
}
