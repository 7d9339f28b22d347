import { Queue, type JobState } from 'bullmq';
import type { Redis } from 'ioredis';
import {
  LIFECYCLE_QUEUE_NAME,
  lifecycleJobId,
  lifecycleJobOptions,
  lifecycleJobParamsSchema,
  type LifecycleJobData,
  type LifecycleJobName,
  type LifecycleJobRequest,
} from './lifecycle-jobs';
import { createQueueRedis, DEFAULT_QUEUE_PREFIX, type QueueConnectionOptions } from './redis-connection';

export interface EnqueueResult {
  jobId: string;
  /** False when a job with this id already existed (in any state): nothing was added. */
  created: boolean;
}

export interface LifecycleJobSnapshot {
  id: string;
  name: string;
  state: JobState | 'unknown';
  attemptsMade: number;
  failedReason: string | null;
  data: unknown;
}

/**
 * Producer side of the lifecycle queue, used by instance-service (after it recorded the intent in the
 * instance row) and by the worker's reconciler (re-enqueue of lost work, delayed purge).
 */
export class LifecycleQueue {
  readonly queue: Queue<LifecycleJobData, unknown, LifecycleJobName>;
  private readonly connection: Redis;

  constructor(options: QueueConnectionOptions) {
    this.connection = createQueueRedis(
      options.redisUrl,
      options.connectionName ?? 'lifecycle-queue',
      'producer',
    );
    this.queue = new Queue<LifecycleJobData, unknown, LifecycleJobName>(LIFECYCLE_QUEUE_NAME, {
      connection: this.connection,
      prefix: options.prefix ?? DEFAULT_QUEUE_PREFIX,
    });
    this.queue.on('error', () => undefined);
  }

  /** Adds the job unless one with the same deterministic id exists. Returns the job id either way. */
  async enqueue(request: LifecycleJobRequest): Promise<EnqueueResult> {
    const jobId = lifecycleJobId(request.instanceId, request.name, request.generation);
    const data: LifecycleJobData = {
      instance_id: request.instanceId,
      generation: request.generation,
      params: lifecycleJobParamsSchema.parse(request.params ?? {}),
      requested_by: request.requestedBy,
      reason: request.reason ?? null,
      requested_at: new Date().toISOString(),
    };
    if (await this.queue.getJob(jobId)) {
      return { jobId, created: false };
    }
    // add() itself is a no-op for an existing id, so a concurrent enqueue of the same intent is harmless.
    await this.queue.add(request.name, data, lifecycleJobOptions(request.name, jobId, request.delayMs));
    return { jobId, created: true };
  }

  /** 'unknown' when no job has this id (never enqueued, or removed after completion). */
  async getJobState(jobId: string): Promise<JobState | 'unknown'> {
    const job = await this.queue.getJob(jobId);
    return job ? job.getState() : 'unknown';
  }

  async getJob(jobId: string): Promise<LifecycleJobSnapshot | null> {
    const job = await this.queue.getJob(jobId);
    if (!job?.id) return null;
    return {
      id: job.id,
      name: job.name,
      state: await job.getState(),
      attemptsMade: job.attemptsMade,
      failedReason: job.failedReason ?? null,
      data: job.data,
    };
  }

  async close(): Promise<void> {
    await this.queue.close();
    await this.connection.quit().catch(() => this.connection.disconnect());
  }
}
