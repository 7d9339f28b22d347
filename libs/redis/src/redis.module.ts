import { Global, Inject, Injectable, Module, OnApplicationShutdown } from '@nestjs/common';
import { Redis } from 'ioredis';
import { APP_CONFIG, RedisEnv } from '@app/config';
import { HealthCheck } from '@app/health';

export const REDIS_CLIENT = Symbol('REDIS_CLIENT');

export function createRedisClient(url: string, name: string): Redis {
  return new Redis(url, {
    connectionName: name,
    maxRetriesPerRequest: 2,
    enableOfflineQueue: true,
    lazyConnect: true,
    retryStrategy: (times) => Math.min(times * 200, 2000),
  });
}

@Injectable()
export class RedisHealthCheck implements HealthCheck {
  readonly name = 'redis';
  constructor(@Inject(REDIS_CLIENT) private readonly redis: Redis) {}

  async check() {
    const pong = await this.redis.ping();
    if (pong !== 'PONG') throw new Error(`unexpected PING answer ${pong}`);
    return {};
  }
}

@Injectable()
class RedisLifecycle implements OnApplicationShutdown {
  constructor(@Inject(REDIS_CLIENT) private readonly redis: Redis) {}
  async onApplicationShutdown() {
    await this.redis.quit().catch(() => this.redis.disconnect());
  }
}

@Global()
@Module({
  providers: [
    {
      provide: REDIS_CLIENT,
      inject: [APP_CONFIG],
      useFactory: (env: RedisEnv) => {
        const client = createRedisClient(env.REDIS_URL, 'saasodoo');
        // Errors surface through commands and the readiness check; the event must have a listener.
        client.on('error', () => undefined);
        return client;
      },
    },
    RedisLifecycle,
  ],
  exports: [REDIS_CLIENT],
})
export class RedisModule {}
