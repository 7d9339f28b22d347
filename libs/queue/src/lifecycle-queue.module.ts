import { Global, Inject, Injectable, Module, OnApplicationShutdown } from '@nestjs/common';
import { APP_CONFIG, RedisEnv } from '@app/config';
import { InstanceLogsClient } from './instance-logs';
import { LifecycleQueue } from './lifecycle-queue';
import { PlacementNodesStore } from './placement-nodes';
import { DEFAULT_QUEUE_PREFIX, QueueEnv } from './redis-connection';

type LifecycleQueueEnv = RedisEnv & Partial<QueueEnv>;

@Injectable()
class LifecycleQueueShutdown implements OnApplicationShutdown {
  constructor(
    @Inject(LifecycleQueue) private readonly queue: LifecycleQueue,
    @Inject(InstanceLogsClient) private readonly logs: InstanceLogsClient,
    @Inject(PlacementNodesStore) private readonly nodes: PlacementNodesStore,
  ) {}

  async onApplicationShutdown(): Promise<void> {
    await Promise.allSettled([this.queue.close(), this.logs.close(), this.nodes.close()]);
  }
}

/**
 * Producer side for the API: `LifecycleQueue` (enqueue lifecycle jobs), `InstanceLogsClient` (container
 * log tails answered by the worker) and `PlacementNodesStore` (the worker's node capacity snapshots). Reads REDIS_URL and QUEUE_PREFIX (spread `queueEnv` into the app's env).
 */
@Global()
@Module({
  providers: [
    {
      provide: LifecycleQueue,
      inject: [APP_CONFIG],
      useFactory: (env: LifecycleQueueEnv) =>
        new LifecycleQueue({
          redisUrl: env.REDIS_URL,
          prefix: env.QUEUE_PREFIX ?? DEFAULT_QUEUE_PREFIX,
          connectionName: 'lifecycle-queue',
        }),
    },
    {
      provide: InstanceLogsClient,
      inject: [APP_CONFIG],
      useFactory: (env: LifecycleQueueEnv) =>
        new InstanceLogsClient({ redisUrl: env.REDIS_URL, prefix: env.QUEUE_PREFIX ?? DEFAULT_QUEUE_PREFIX }),
    },
    {
      provide: PlacementNodesStore,
      inject: [APP_CONFIG],
      useFactory: (env: LifecycleQueueEnv) =>
        new PlacementNodesStore({
          redisUrl: env.REDIS_URL,
          prefix: env.QUEUE_PREFIX ?? DEFAULT_QUEUE_PREFIX,
        }),
    },
    LifecycleQueueShutdown,
  ],
  exports: [LifecycleQueue, InstanceLogsClient, PlacementNodesStore],
})
export class LifecycleQueueModule {}
