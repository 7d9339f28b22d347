import { Inject, Injectable } from '@nestjs/common';
import type { Redis } from 'ioredis';
import { createHash } from 'node:crypto';
import { MetricsRegistry } from '@app/metrics';
import { DependencyUnavailableError, TooManyRequestsError } from '@app/http';
import { REDIS_CLIENT } from '@app/redis';
import { Counter } from 'prom-client';
import { counter } from '../common/metrics';

export interface RateRule {
  /** What is limited, e.g. "login:ip". */
  bucket: string;
  /** Who is counted: an IP address or an email (hashed before it reaches Redis). */
  subject: string;
  limit: number;
  windowSeconds: number;
}

/** Hashes the subject so Redis never holds email addresses in clear. */
export function subjectKey(subject: string): string {
  return createHash('sha256').update(subject).digest('base64url').slice(0, 22);
}

/** Fixed-window counters in Redis, shared by every replica. */
@Injectable()
export class RateLimiter {
  private readonly limited: Counter<'bucket'>;

  constructor(
    @Inject(REDIS_CLIENT) private readonly redis: Redis,
    metrics: MetricsRegistry,
  ) {
    this.limited = counter(metrics, {
      name: 'auth_rate_limited_total',
      help: 'Requests refused by a rate limit, by bucket',
      labelNames: ['bucket'],
    });
  }

  /** Counts one request against every rule; throws 429 (with Retry-After) when any is over its limit. */
  async consume(rules: RateRule[]): Promise<void> {
    const pipeline = this.redis.multi();
    const keys = rules.map((r) => `user-service:ratelimit:${r.bucket}:${subjectKey(r.subject)}`);
    rules.forEach((rule, i) => {
      pipeline.incr(keys[i]!).expire(keys[i]!, rule.windowSeconds, 'NX').ttl(keys[i]!);
    });
    const results = await pipeline.exec().catch((error: unknown) => {
      throw new DependencyUnavailableError('redis', `rate limiting is unavailable: ${String(error)}`);
    });
    if (!results) throw new DependencyUnavailableError('redis', 'rate limiting is unavailable');
    let retryAfter = 0;
    let over: RateRule | undefined;
    rules.forEach((rule, i) => {
      const [countError, count] = results[i * 3]!;
      const [ttlError, ttl] = results[i * 3 + 2]!;
      if (countError) throw countError;
      if (ttlError) throw ttlError;
      if (Number(count) > rule.limit) {
        over ??= rule;
        retryAfter = Math.max(retryAfter, Number(ttl) > 0 ? Number(ttl) : rule.windowSeconds);
      }
    });
    if (over) {
      this.limited.inc({ bucket: over.bucket });
      throw new TooManyRequestsError(retryAfter);
    }
  }
}
