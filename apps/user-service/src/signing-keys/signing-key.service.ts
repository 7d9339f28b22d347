import { Inject, Injectable, Logger, OnApplicationShutdown, OnModuleInit } from '@nestjs/common';
import type { Redis } from 'ioredis';
import { calculateJwkThumbprint, exportJWK, generateKeyPair, importJWK, JWK } from 'jose';
import { ACCESS_TOKEN_ALGORITHM, AUTH_SETTINGS, publishJwks, PublicJwk, PublicJwks } from '@app/auth';
import type { AuthSettings } from '@app/auth';
import { APP_CONFIG } from '@app/config';
import { REDIS_CLIENT } from '@app/redis';
import { Clock } from '../common/clock';
import type { Config } from '../config/env';
import { SigningKeyCipher, SigningKeySealError } from './signing-key.cipher';
import { SigningKeyEntity } from './signing-key.entity';
import { SigningKeysRepository, SigningKeysTransaction } from './signing-keys.repository';

/** Replicas re-read the active key and re-publish the key set this often (covers rotations and Redis restarts). */
const REFRESH_INTERVAL_MS = 30_000;
/** A retired key stays published this long after the last token it signed expired. */
const RETIRED_KEY_GRACE_MS = 5 * 60_000;

type SigningKey = Awaited<ReturnType<typeof importJWK>>;

export interface ActiveSigningKey {
  kid: string;
  key: SigningKey;
}

function publicPart(jwk: JWK, kid: string): PublicJwk {
  return {
    kty: jwk.kty ?? 'EC',
    crv: jwk.crv,
    x: jwk.x,
    y: jwk.y,
    kid,
    alg: ACCESS_TOKEN_ALGORITHM,
    use: 'sig',
  };
}

/**
 * The ES256 key pairs that sign access tokens: created on first start and kept in the database with the
 * private half sealed (SigningKeyCipher, SIGNING_KEYS_ENCRYPTION_KEY), the public halves served at
 * /.well-known/jwks.json and published to Redis for the other services' verifiers.
 */
@Injectable()
export class SigningKeyService implements OnModuleInit, OnApplicationShutdown {
  private readonly logger = new Logger('SigningKeys');
  private active?: ActiveSigningKey;
  private published: PublicJwks = { keys: [] };
  private timer?: NodeJS.Timeout;

  constructor(
    private readonly repository: SigningKeysRepository,
    private readonly clock: Clock,
    @Inject(REDIS_CLIENT) private readonly redis: Redis,
    @Inject(APP_CONFIG) private readonly config: Config,
    @Inject(AUTH_SETTINGS) private readonly settings: AuthSettings,
    private readonly cipher: SigningKeyCipher,
  ) {}

  async onModuleInit(): Promise<void> {
    await this.repository.withLock(async (tx) => {
      await this.sealPlaintextKeys(tx);
      const active = await tx.findActive();
      if (active && this.opens(active)) return;
      if (active) {
        // Sealed under another SIGNING_KEYS_ENCRYPTION_KEY: unusable here, so it is retired (its public half
        // stays published while tokens it signed live) and replaced.
        this.logger.warn({
          msg: 'the active signing key does not open with this key; rotating',
          kid: active.kid,
        });
        await tx.retire(active.kid, this.clock.now());
      }
      await tx.insert(await this.generate());
    });
    await this.reload();
    // Without Redis the service still starts (readiness reports it); the timer publishes once it is back.
    await this.publish().catch((error: unknown) =>
      this.logger.error({ msg: 'cannot publish the signing keys to Redis yet', error: String(error) }),
    );
    this.timer = setInterval(() => {
      this.refresh().catch((error: unknown) =>
        this.logger.error({ msg: 'signing key refresh failed', error: String(error) }),
      );
    }, REFRESH_INTERVAL_MS);
    this.timer.unref();
  }

  onApplicationShutdown(): void {
    clearInterval(this.timer);
  }

  async activeKey(): Promise<ActiveSigningKey> {
    if (!this.active) await this.reload();
    if (!this.active) throw new Error('no active signing key');
    return this.active;
  }

  jwks(): PublicJwks {
    return this.published;
  }

  /** Retires the active key and creates a new one; the old public key stays published. */
  async rotate(): Promise<string> {
    const next = await this.generate();
    await this.repository.withLock(async (tx) => {
      const current = await tx.findActive();
      if (current) await tx.retire(current.kid, this.clock.now());
      await tx.insert(next);
    });
    await this.refresh();
    this.logger.log({ msg: 'signing key rotated', kid: next.kid });
    return next.kid;
  }

  /** Re-reads the keys from the database and publishes the public set to Redis. */
  async refresh(): Promise<void> {
    await this.reload();
    await this.publish();
  }

  /** Rows from before sealing get their private half sealed and the plaintext removed. */
  private async sealPlaintextKeys(tx: SigningKeysTransaction): Promise<void> {
    for (const row of await tx.findUnsealed()) {
      if (row.privateJwk) await tx.seal(row.kid, this.cipher.seal(row.kid, row.privateJwk));
    }
  }

  private opens(row: SigningKeyEntity): boolean {
    try {
      this.privateJwkOf(row);
      return true;
    } catch (error) {
      if (error instanceof SigningKeySealError) return false;
      throw error;
    }
  }

  private privateJwkOf(row: SigningKeyEntity): JWK {
    if (row.privateJwkEnc) return this.cipher.open(row.kid, row.privateJwkEnc);
    if (row.privateJwk) return row.privateJwk;
    throw new SigningKeySealError(row.kid, 'no private key stored');
  }

  private async reload(): Promise<void> {
    const activeRow = await this.repository.findActive();
    if (activeRow && activeRow.kid !== this.active?.kid) {
      this.active = {
        kid: activeRow.kid,
        key: await importJWK(this.privateJwkOf(activeRow), ACCESS_TOKEN_ALGORITHM),
      };
    }
    const horizon = new Date(
      this.clock.now().getTime() - this.config.ACCESS_TOKEN_TTL_SECONDS * 1000 - RETIRED_KEY_GRACE_MS,
    );
    const rows = await this.repository.findPublishable(horizon);
    this.published = { keys: rows.map((row) => publicPart(row.publicJwk, row.kid)) };
  }

  private publish(): Promise<void> {
    return publishJwks(this.redis, this.settings.redisPrefix, this.published);
  }

  private async generate(): Promise<SigningKeyEntity> {
    const { publicKey, privateKey } = await generateKeyPair(ACCESS_TOKEN_ALGORITHM, { extractable: true });
    const publicJwk = await exportJWK(publicKey);
    const kid = await calculateJwkThumbprint(publicJwk);
    const key = new SigningKeyEntity();
    Object.assign(key, {
      kid,
      algorithm: ACCESS_TOKEN_ALGORITHM,
      publicJwk,
      privateJwk: null,
      privateJwkEnc: this.cipher.seal(kid, await exportJWK(privateKey)),
      createdAt: this.clock.now(),
      retiredAt: null,
    });
    return key;
  }
}
