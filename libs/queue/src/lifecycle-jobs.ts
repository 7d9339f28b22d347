import { z } from 'zod';
import type { JobsOptions } from 'bullmq';

/** The one durable queue of instance lifecycle work (BullMQ on REDIS_URL). */
export const LIFECYCLE_QUEUE_NAME = 'instance-lifecycle';

/**
 * Job names. The desired-state jobs (provision, start, stop, suspend, unsuspend, terminate) all converge the
 * instance to the desired state stored in its row, so duplicated or reordered jobs are harmless; the name
 * says what triggered the work. Operation jobs (restart, backup, restore, upgrade) carry out the instance's
 * `pending_operation` of the same generation. `purge` removes a terminated instance's data after retention;
 * `apply_limits` pushes changed CPU/memory limits to the container; `migrate` (an admin's operation) moves a
 * local-volume instance to another swarm node.
 */
export const LIFECYCLE_JOB_NAMES = [
  'provision',
  'start',
  'stop',
  'restart',
  'suspend',
  'unsuspend',
  'backup',
  'restore',
  'upgrade',
  'terminate',
  'purge',
  'apply_limits',
  'migrate',
] as const;
export type LifecycleJobName = (typeof LIFECYCLE_JOB_NAMES)[number];

export function isLifecycleJobName(value: string): value is LifecycleJobName {
  return (LIFECYCLE_JOB_NAMES as readonly string[]).includes(value);
}

/**
 * Parameters of operation jobs: `backup_id` for restore, `version` for upgrade, `kind` for a backup the
 * scheduler asked for (`scheduled`; a customer's is `manual`).
 */
export const lifecycleJobParamsSchema = z
  .object({
    backup_id: z.uuid().optional(),
    version: z.string().min(1).max(16).optional(),
    kind: z.enum(['scheduled', 'manual']).optional(),
    /** migrate: the swarm node id to move the instance to, and the one it was on when asked. */
    node: z.string().min(1).max(64).optional(),
    from: z.string().min(1).max(64).optional(),
  })
  .strict();
export type LifecycleJobParams = z.infer<typeof lifecycleJobParamsSchema>;

/** What every lifecycle job carries (snake_case: it is stored as JSON in Redis). */
export const lifecycleJobDataSchema = z
  .object({
    instance_id: z.uuid(),
    generation: z.number().int().min(0),
    params: lifecycleJobParamsSchema.default({}),
    requested_by: z.string().min(1).max(200),
    reason: z.string().max(1000).nullable().default(null),
    requested_at: z.string(),
  })
  .strict();
export type LifecycleJobData = z.infer<typeof lifecycleJobDataSchema>;

/**
 * Deterministic job id `<instance_id>:<job_name>:<generation>`: enqueueing the same intent twice (API retry,
 * reconciler re-enqueue after a lost enqueue) adds nothing.
 */
export function lifecycleJobId(instanceId: string, name: LifecycleJobName, generation: number): string {
  return `${instanceId}:${name}:${generation}`;
}

export interface ParsedLifecycleJobId {
  instanceId: string;
  name: LifecycleJobName;
  generation: number;
}

export function parseLifecycleJobId(jobId: string): ParsedLifecycleJobId | null {
  const parts = jobId.split(':');
  if (parts.length !== 3) return null;
  const [instanceId, name, generation] = parts as [string, string, string];
  const parsedGeneration = Number(generation);
  if (!isLifecycleJobName(name) || !/^\d+$/.test(generation) || !Number.isSafeInteger(parsedGeneration)) {
    return null;
  }
  if (!z.uuid().safeParse(instanceId).success) return null;
  return { instanceId, name, generation: parsedGeneration };
}

interface RetryPolicy {
  attempts: number;
  /** Exponential backoff: the n-th retry waits `backoffMs * 2^(n-1)`. */
  backoffMs: number;
}

/**
 * Attempts and backoff per job name. Transient failures (Docker or Postgres hiccups) are retried; handlers
 * throw an unrecoverable error for permanent ones. On the last attempt the handler itself records the
 * failure (status `error`, cleanup of a failed provisioning), so nothing depends on a `failed` event.
 */
export const LIFECYCLE_RETRY_POLICY: Record<LifecycleJobName, RetryPolicy> = {
  provision: { attempts: 3, backoffMs: 2_000 },
  start: { attempts: 3, backoffMs: 2_000 },
  stop: { attempts: 5, backoffMs: 1_000 },
  restart: { attempts: 3, backoffMs: 2_000 },
  suspend: { attempts: 5, backoffMs: 1_000 },
  unsuspend: { attempts: 3, backoffMs: 2_000 },
  backup: { attempts: 2, backoffMs: 5_000 },
  restore: { attempts: 2, backoffMs: 5_000 },
  upgrade: { attempts: 1, backoffMs: 5_000 },
  terminate: { attempts: 8, backoffMs: 2_000 },
  purge: { attempts: 8, backoffMs: 5_000 },
  apply_limits: { attempts: 5, backoffMs: 1_000 },
  // Any failure rolls the move back at once (the instance stays on its node); a crashed worker's job is
  // picked up again as stalled and resumes from the row.
  migrate: { attempts: 1, backoffMs: 5_000 },
};

export function lifecycleJobOptions(name: LifecycleJobName, jobId: string, delayMs = 0): JobsOptions {
  const policy = LIFECYCLE_RETRY_POLICY[name];
  return {
    jobId,
    attempts: policy.attempts,
    backoff: { type: 'exponential', delay: policy.backoffMs },
    ...(delayMs > 0 ? { delay: delayMs } : {}),
    // Kept for inspection; correctness never depends on finished jobs still being there.
    removeOnComplete: { age: 7 * 24 * 3600, count: 10_000 },
    removeOnFail: { age: 30 * 24 * 3600, count: 10_000 },
  };
}

/** A request to enqueue one lifecycle job; see `LifecycleQueue.enqueue`. */
export interface LifecycleJobRequest {
  name: LifecycleJobName;
  instanceId: string;
  generation: number;
  params?: LifecycleJobParams;
  /** User id, or 'worker', 'reconciler', 'billing', … */
  requestedBy: string;
  reason?: string | null;
  /** Run no earlier than this many ms from now (purge after retention). */
  delayMs?: number;
}
