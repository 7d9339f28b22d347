import { Inject, Injectable, Logger, Module, OnApplicationShutdown } from '@nestjs/common';
import { ClientProxyFactory, Transport } from '@nestjs/microservices';
import type { ClientProxy, RedisOptions } from '@nestjs/microservices';
import { Counter } from 'prom-client';
import { timeout } from 'rxjs';
import { APP_CONFIG } from '@app/config';
import type { RedisEnv } from '@app/config';
import { DOMAIN_EVENT_SCHEMAS } from '@app/contracts';
import type { DomainEventName, DomainEventPayload } from '@app/contracts';
import { MetricsRegistry } from '@app/metrics';

const PUBLISH_TIMEOUT_MS = 5000;

/**
 * The @nestjs/microservices Redis transport options for REDIS_URL. It keeps reconnecting for ever (a Redis
 * restart is ridden out), one second apart.
 */
export function redisTransportOptions(url: string): NonNullable<RedisOptions['options']> {
  const parsed = new URL(url);
  const db = parsed.pathname.replace(/^\//, '');
  return {
    host: parsed.hostname,
    port: parsed.port ? Number(parsed.port) : 6379,
    ...(parsed.username ? { username: decodeURIComponent(parsed.username) } : {}),
    ...(parsed.password ? { password: decodeURIComponent(parsed.password) } : {}),
    ...(db ? { db: Number(db) } : {}),
    ...(parsed.protocol === 'rediss:' ? { tls: {} } : {}),
    retryAttempts: Number.MAX_SAFE_INTEGER,
    retryDelay: 1000,
  };
}

/**
 * Publishes domain events (names and payload schemas in @app/contracts). Publishing never fails the business
 * operation that triggers it: an invalid payload, an unreachable Redis or a timeout is logged and counted in
 * `domain_events_published_total{event,result}`, and the caller carries on. Events are hints: a lost one is
 * caught up by the consumer's next read.
 */
@Injectable()
export class DomainEventPublisher implements OnApplicationShutdown {
  private readonly logger = new Logger(DomainEventPublisher.name);
  private readonly client: ClientProxy;
  private readonly published: Counter<'event' | 'result'>;

  constructor(@Inject(APP_CONFIG) env: RedisEnv, metrics: MetricsRegistry) {
    this.client = ClientProxyFactory.create({
      transport: Transport.REDIS,
      options: redisTransportOptions(env.REDIS_URL),
    }) as ClientProxy;
    const existing = metrics.registry.getSingleMetric('domain_events_published_total');
    this.published =
      (existing as Counter<'event' | 'result'> | undefined) ??
      new Counter({
        name: 'domain_events_published_total',
        help: 'Domain events handed to Redis, by event and result (ok, failed, invalid)',
        labelNames: ['event', 'result'],
        registers: [metrics.registry],
      });
  }

  /** Emits the event; returns at once, and never throws. */
  publish<N extends DomainEventName>(name: N, payload: DomainEventPayload<N>): void {
    const checked = DOMAIN_EVENT_SCHEMAS[name].safeParse(payload);
    if (!checked.success) {
      this.published.inc({ event: name, result: 'invalid' });
      this.logger.error(`domain event ${name} not published: invalid payload: ${checked.error.message}`);
      return;
    }
    try {
      this.client
        .emit(name, checked.data)
        .pipe(timeout(PUBLISH_TIMEOUT_MS))
        .subscribe({
          complete: () => this.published.inc({ event: name, result: 'ok' }),
          error: (error: unknown) => this.failed(name, error),
        });
    } catch (error) {
      this.failed(name, error);
    }
  }

  private failed(name: DomainEventName, error: unknown): void {
    this.published.inc({ event: name, result: 'failed' });
    this.logger.warn(
      `domain event ${name} not published: ${error instanceof Error ? error.message : String(error)}`,
    );
  }

  async onApplicationShutdown(): Promise<void> {
    await this.client.close();
  }
}

/** Import where a service publishes domain events (needs the app's config with REDIS_URL, and metrics). */
@Module({ providers: [DomainEventPublisher], exports: [DomainEventPublisher] })
export class DomainEventsModule {}
