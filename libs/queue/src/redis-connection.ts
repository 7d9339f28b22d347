import { Redis } from 'ioredis';
import { z } from 'zod';

/** Env piece shared by the API (producer) and the worker (consumer): both must use the same prefix. */
export const queueEnv = z.object({
  /** Namespace of every queue key in Redis; tests use their own so a running dev worker never sees them. */
  QUEUE_PREFIX: z
    .string()
    .regex(/^[a-zA-Z0-9_-]{1,64}$/, 'letters, digits, _ and - only')
    .default('saasodoo'),
});
export type QueueEnv = z.infer<typeof queueEnv>;

export interface QueueConnectionOptions {
  redisUrl: string;
  /** Key prefix (QUEUE_PREFIX); default `saasodoo`. */
  prefix?: string;
  connectionName?: string;
}

/**
 * BullMQ needs `maxRetriesPerRequest: null` on connections that block (workers); producers fail fast
 * instead, so an API request never hangs on a Redis outage (the reconciler re-enqueues lost work).
 */
export function createQueueRedis(url: string, name: string, role: 'blocking' | 'producer'): Redis {
  const client = new Redis(url, {
    connectionName: name,
    maxRetriesPerRequest: role === 'blocking' ? null : 1,
    enableOfflineQueue: true,
    retryStrategy: (times) => Math.min(times * 200, 2000),
    ...(role === 'producer' ? { commandTimeout: 5_000 } : {}),
  });
  // Errors surface through the commands that fail; the event needs a listener or ioredis logs noise.
  client.on('error', () => undefined);
  return client;
}

export const DEFAULT_QUEUE_PREFIX = 'saasodoo';
