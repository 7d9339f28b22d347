import { Inject, Injectable } from '@nestjs/common';
import type { Redis } from 'ioredis';
import { importJWK } from 'jose';
import { z } from 'zod';
import { DependencyUnavailableError } from '@app/http';
import { REDIS_CLIENT } from '@app/redis';
import { AUTH_SETTINGS } from './auth.env';
import type { AuthSettings } from './auth.env';
import { ACCESS_TOKEN_ALGORITHM, authRedisKeys, PublicJwks } from './auth.types';

/** An unknown kid triggers at most one re-read per interval, so forged kids cannot hammer Redis. */
const UNKNOWN_KID_REFRESH_INTERVAL_MS = 1000;

const publicJwksSchema = z.object({
  keys: z.array(
    z.looseObject({
      kty: z.literal('EC'),
      crv: z.literal('P-256'),
      kid: z.string().min(1),
      x: z.string().min(1),
      y: z.string().min(1),
      alg: z.literal(ACCESS_TOKEN_ALGORITHM).optional(),
      use: z.literal('sig').optional(),
      d: z.never({ message: 'a private key must never be published' }).optional(),
    }),
  ),
});

type VerificationKey = Awaited<ReturnType<typeof importJWK>>;

/** Writes the public key set where every verifier reads it. Called by user-service (the signer) only. */
export async function publishJwks(redis: Redis, prefix: string, jwks: PublicJwks): Promise<void> {
  publicJwksSchema.parse(jwks);
  await redis.set(authRedisKeys(prefix).jwks, JSON.stringify(jwks));
}

/**
 * The verifiers' copy of user-service's public keys: read from Redis (no HTTP call to user-service),
 * kept in memory for AUTH_JWKS_CACHE_SECONDS, re-read at once when a token names a kid it does not know
 * (a key rotation happened since the last read).
 */
@Injectable()
export class JwksStore {
  private keys = new Map<string, VerificationKey>();
  private loadedAt = 0;
  private lastForcedReload = 0;
  private loading?: Promise<void>;

  constructor(
    @Inject(REDIS_CLIENT) private readonly redis: Redis,
    @Inject(AUTH_SETTINGS) private readonly settings: AuthSettings,
  ) {}

  async keyFor(kid: string): Promise<VerificationKey | undefined> {
    if (Date.now() - this.loadedAt > this.settings.jwksCacheMs) await this.reload();
    let key = this.keys.get(kid);
    if (!key && Date.now() - this.lastForcedReload > UNKNOWN_KID_REFRESH_INTERVAL_MS) {
      this.lastForcedReload = Date.now();
      await this.reload();
      key = this.keys.get(kid);
    }
    return key;
  }

  /** Forgets the cached keys (tests, and operators after an emergency key revocation). */
  invalidate(): void {
    this.loadedAt = 0;
  }

  private reload(): Promise<void> {
    this.loading ??= this.load().finally(() => {
      this.loading = undefined;
    });
    return this.loading;
  }

  private async load(): Promise<void> {
    let raw: string | null;
    try {
      raw = await this.redis.get(authRedisKeys(this.settings.redisPrefix).jwks);
    } catch (error) {
      // Keep verifying with the keys we have; without any, nothing can be verified.
      if (this.keys.size > 0) return;
      throw new DependencyUnavailableError('redis', `cannot read the token signing keys: ${String(error)}`);
    }
    const next = new Map<string, VerificationKey>();
    if (raw) {
      const parsed = publicJwksSchema.safeParse(JSON.parse(raw));
      if (parsed.success) {
        for (const jwk of parsed.data.keys) {
          next.set(jwk.kid, await importJWK({ ...jwk, d: undefined }, ACCESS_TOKEN_ALGORITHM));
        }
      }
    }
    this.keys = next;
    this.loadedAt = Date.now();
  }
}
