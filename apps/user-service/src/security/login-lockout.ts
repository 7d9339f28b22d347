import { HttpStatus, Inject, Injectable } from '@nestjs/common';
import type { Redis } from 'ioredis';
import { APP_CONFIG } from '@app/config';
import { DomainError } from '@app/http';
import { REDIS_CLIENT } from '@app/redis';
import type { Config } from '../config/env';
import { subjectKey } from './rate-limiter';

export class AccountLockedError extends DomainError {
  constructor(retryAfterSeconds: number) {
    const seconds = Math.max(1, Math.ceil(retryAfterSeconds));
    super(
      HttpStatus.TOO_MANY_REQUESTS,
      'ACCOUNT_LOCKED',
      'Too many failed logins: the account is locked for a while',
      [{ retry_after_seconds: seconds }],
      { 'retry-after': String(seconds) },
    );
  }
}

/**
 * Repeated failed logins for one email lock it for LOGIN_LOCKOUT_SECONDS. Unknown emails are counted and
 * locked the same way, so the lock does not reveal which accounts exist.
 */
@Injectable()
export class LoginLockout {
  constructor(
    @Inject(REDIS_CLIENT) private readonly redis: Redis,
    @Inject(APP_CONFIG) private readonly config: Config,
  ) {}

  private keys(email: string) {
    const id = subjectKey(email);
    return { failures: `user-service:login-failures:${id}`, lock: `user-service:login-lock:${id}` };
  }

  async assertNotLocked(email: string): Promise<void> {
    const ttl = await this.redis.ttl(this.keys(email).lock);
    if (ttl > 0) throw new AccountLockedError(ttl);
  }

  async recordFailure(email: string): Promise<void> {
    const { failures, lock } = this.keys(email);
    const results = await this.redis
      .multi()
      .incr(failures)
      .expire(failures, this.config.LOGIN_LOCKOUT_WINDOW_SECONDS, 'NX')
      .exec();
    const count = Number(results?.[0]?.[1] ?? 0);
    if (count >= this.config.LOGIN_LOCKOUT_THRESHOLD) {
      await this.redis.multi().set(lock, '1', 'EX', this.config.LOGIN_LOCKOUT_SECONDS).del(failures).exec();
    }
  }

  async clear(email: string): Promise<void> {
    const { failures, lock } = this.keys(email);
    await this.redis.del(failures, lock);
  }
}
