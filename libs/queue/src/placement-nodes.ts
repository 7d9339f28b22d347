import type { Redis } from 'ioredis';
import { z } from 'zod';
import { createQueueRedis, DEFAULT_QUEUE_PREFIX, type QueueConnectionOptions } from './redis-connection';

/*
 * The capacity view for operators (GET /api/v1/admin/nodes): the worker, which alone talks to the engine,
 * writes a snapshot of the nodes every few seconds; the API reads the latest. A snapshot nobody refreshed
 * expires, so the API never shows a stale view as current.
 */

const amounts = z.object({ total: z.number().nonnegative(), reserved: z.number().nonnegative() });

export const placementNodeSchema = z.object({
  id: z.string().min(1),
  hostname: z.string(),
  role: z.enum(['manager', 'worker']),
  availability: z.enum(['active', 'pause', 'drain']),
  state: z.string(),
  labels: z.record(z.string(), z.string()),
  /** CPUs (1.0 = one core): reserved by placed tasks against the node's total. */
  cpus: amounts,
  memory_bytes: amounts,
});
export type PlacementNode = z.infer<typeof placementNodeSchema>;

export const placementNodesSnapshotSchema = z.object({
  orchestrator: z.enum(['docker', 'swarm']),
  observed_at: z.iso.datetime(),
  nodes: z.array(placementNodeSchema),
});
export type PlacementNodesSnapshot = z.infer<typeof placementNodesSnapshotSchema>;

/** Both sides: `publish` (worker) and `latest` (API). */
export class PlacementNodesStore {
  private readonly key: string;
  private redis?: Redis;

  constructor(private readonly options: QueueConnectionOptions) {
    this.key = `${options.prefix ?? DEFAULT_QUEUE_PREFIX}:placement:nodes`;
  }

  async publish(snapshot: PlacementNodesSnapshot, ttlMs: number): Promise<void> {
    await this.connection().set(
      this.key,
      JSON.stringify(placementNodesSnapshotSchema.parse(snapshot)),
      'PX',
      ttlMs,
    );
  }

  /** The latest snapshot, or null when no worker wrote one recently. */
  async latest(): Promise<PlacementNodesSnapshot | null> {
    const raw = await this.connection().get(this.key);
    if (!raw) return null;
    const parsed = placementNodesSnapshotSchema.safeParse(JSON.parse(raw));
    return parsed.success ? parsed.data : null;
  }

  async close(): Promise<void> {
    const redis = this.redis;
    this.redis = undefined;
    await redis?.quit().catch(() => redis.disconnect());
  }

  private connection(): Redis {
    this.redis ??= createQueueRedis(this.options.redisUrl, 'placement-nodes', 'producer');
    return this.redis;
  }
}
