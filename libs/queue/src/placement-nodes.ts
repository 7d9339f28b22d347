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
  /** `shared-path` (SHARED_STORAGE_PATH): instances move by themselves, there is nothing to migrate. */
  storage: z.enum(['local-volume', 'shared-path']).default('local-volume'),
  observed_at: z.iso.datetime(),
  nodes: z.array(placementNodeSchema),
});
export type PlacementNodesSnapshot = z.infer<typeof placementNodesSnapshotSchema>;

/** The label that, once any node carries it with value `odoo`, limits instances to those nodes. */
export const ODOO_ROLE_LABEL = 'saasodoo.role';

/** What choosing a node needs to know of each. */
export interface CandidateNode {
  id: string;
  availability: string;
  state: string;
  labels: Record<string, string>;
  /** Memory not reserved by placed tasks (total minus reserved). */
  freeMemoryBytes: number;
}

export type MigrationTargetChoice =
  | { ok: true; node: string }
  | {
      ok: false;
      code: 'NODE_NOT_FOUND' | 'NODE_NOT_ELIGIBLE' | 'SAME_NODE' | 'NO_ELIGIBLE_NODE';
      message: string;
    };

/**
 * The node a local-volume instance on `current` may move to: `requested` if it exists, is active and ready,
 * carries `saasodoo.role=odoo` when any node does, and is not `current`; without `requested`, the eligible
 * node with the most free (unreserved) memory other than `current`. Used by the API (400/409) and the worker.
 */
export function chooseMigrationTarget(
  nodes: CandidateNode[],
  current: string | null,
  requested?: string,
): MigrationTargetChoice {
  const roleInUse = nodes.some((n) => n.labels[ODOO_ROLE_LABEL] === 'odoo');
  const problem = (n: CandidateNode): string | null => {
    if (n.state !== 'ready') return `node ${n.id} is ${n.state}, not ready`;
    if (n.availability !== 'active') return `node ${n.id} is ${n.availability}, not active`;
    if (roleInUse && n.labels[ODOO_ROLE_LABEL] !== 'odoo') {
      return `node ${n.id} is not labelled ${ODOO_ROLE_LABEL}=odoo (instances go only to labelled nodes)`;
    }
    return null;
  };
  if (requested !== undefined) {
    const node = nodes.find((n) => n.id === requested);
    if (!node) return { ok: false, code: 'NODE_NOT_FOUND', message: `no swarm node ${requested}` };
    if (node.id === current) {
      return { ok: false, code: 'SAME_NODE', message: `the instance is already on node ${requested}` };
    }
    const why = problem(node);
    return why ? { ok: false, code: 'NODE_NOT_ELIGIBLE', message: why } : { ok: true, node: node.id };
  }
  const best = nodes
    .filter((n) => n.id !== current && problem(n) === null)
    .sort((a, b) => b.freeMemoryBytes - a.freeMemoryBytes)[0];
  return best
    ? { ok: true, node: best.id }
    : { ok: false, code: 'NO_ELIGIBLE_NODE', message: 'no other active, ready, eligible node to move to' };
}

/** Both sides: `publish` (worker) and `latest` (API). */
export class PlacementNodesStore {
  private readonly key: string;
  private redis?: Redis;

  constructor(private readonly options: QueueConnectionOptions) {
    this.key = `${options.prefix ?? DEFAULT_QUEUE_PREFIX}:placement:nodes`;
  }

  async publish(snapshot: z.input<typeof placementNodesSnapshotSchema>, ttlMs: number): Promise<void> {
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
