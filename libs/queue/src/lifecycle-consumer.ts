import { DelayedError, UnrecoverableError, Worker, type Job } from 'bullmq';
import type { Redis } from 'ioredis';
import {
  LIFECYCLE_JOB_NAMES,
  LIFECYCLE_QUEUE_NAME,
  lifecycleJobDataSchema,
  type LifecycleJobData,
  type LifecycleJobName,
} from './lifecycle-jobs';
import { createQueueRedis, DEFAULT_QUEUE_PREFIX, type QueueConnectionOptions } from './redis-connection';

/** What a handler sees of the job it runs. */
export interface LifecycleJobContext {
  id: string;
  name: LifecycleJobName;
  data: LifecycleJobData;
  /** 1 for the first run; retries count up. */
  attempt: number;
  maxAttempts: number;
  /** No retry follows if this run fails: the handler records the failure itself. */
  isFinalAttempt: boolean;
}

/** How a run ended, as reported to metrics. */
export type LifecycleJobOutcome = 'succeeded' | 'skipped' | 'superseded' | 'failed' | 'retrying' | 'deferred';

export interface LifecycleJobHandler {
  readonly jobName: LifecycleJobName;
  /** Resolves with `succeeded`, `skipped` (nothing to do) or `superseded` (a newer intent took over). */
  handle(context: LifecycleJobContext): Promise<'succeeded' | 'skipped' | 'superseded'>;
}

/** A permanent failure: the job is not retried. */
export class PermanentJobError extends UnrecoverableError {
  constructor(message: string) {
    super(message);
    this.name = 'PermanentJobError';
  }
}

/**
 * Thrown by a handler that cannot run now (the instance is busy with another job): the job is put back
 * as delayed without using up an attempt.
 */
export class JobDeferral extends Error {
  constructor(
    readonly delayMs: number,
    reason: string,
  ) {
    super(reason);
    this.name = 'JobDeferral';
  }
}

export class HandlerRegistryError extends Error {
  constructor(problems: string[]) {
    super(`lifecycle job handlers are misconfigured:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'HandlerRegistryError';
  }
}

/** Exactly one handler per job name, and no handler for an unknown name; otherwise the worker must not boot. */
export function buildHandlerRegistry(
  handlers: readonly LifecycleJobHandler[],
): ReadonlyMap<LifecycleJobName, LifecycleJobHandler> {
  const problems: string[] = [];
  const registry = new Map<LifecycleJobName, LifecycleJobHandler>();
  for (const handler of handlers) {
    if (!(LIFECYCLE_JOB_NAMES as readonly string[]).includes(handler.jobName)) {
      problems.push(`${handler.constructor.name} handles unknown job "${String(handler.jobName)}"`);
      continue;
    }
    const existing = registry.get(handler.jobName);
    if (existing) {
      problems.push(
        `job "${handler.jobName}" has two handlers: ${existing.constructor.name} and ${handler.constructor.name}`,
      );
      continue;
    }
    registry.set(handler.jobName, handler);
  }
  for (const name of LIFECYCLE_JOB_NAMES) {
    if (!registry.has(name)) problems.push(`job "${name}" has no handler`);
  }
  if (problems.length > 0) throw new HandlerRegistryError(problems);
  return registry;
}

export interface LifecycleConsumerOptions extends QueueConnectionOptions {
  handlers: readonly LifecycleJobHandler[];
  concurrency: number;
  /** How long a job stays owned by a worker that stopped renewing it (SIGKILL) before another takes it. */
  lockDurationMs?: number;
  stalledIntervalMs?: number;
  /** Stalls (worker died mid-job) tolerated before a job is failed; jobs are idempotent, so be generous. */
  maxStalledCount?: number;
  onFinished?: (name: string, outcome: LifecycleJobOutcome, durationSeconds: number) => void;
  onError?: (error: Error) => void;
}

/**
 * The worker side: one BullMQ Worker on the lifecycle queue dispatching to the registered handlers. The
 * registry is checked in the constructor; consumption begins only when `start()` is called, which the
 * worker app does after its init (database, Docker) succeeded.
 */
export class LifecycleConsumer {
  private readonly registry: ReadonlyMap<LifecycleJobName, LifecycleJobHandler>;
  private worker?: Worker<LifecycleJobData, string, LifecycleJobName>;
  private connection?: Redis;

  constructor(private readonly options: LifecycleConsumerOptions) {
    this.registry = buildHandlerRegistry(options.handlers);
  }

  async start(): Promise<void> {
    if (this.worker) return;
    this.connection = createQueueRedis(
      this.options.redisUrl,
      this.options.connectionName ?? 'lifecycle-worker',
      'blocking',
    );
    const worker = new Worker<LifecycleJobData, string, LifecycleJobName>(
      LIFECYCLE_QUEUE_NAME,
      (job, token) => this.process(job, token),
      {
        connection: this.connection,
        prefix: this.options.prefix ?? DEFAULT_QUEUE_PREFIX,
        concurrency: this.options.concurrency,
        lockDuration: this.options.lockDurationMs ?? 30_000,
        stalledInterval: this.options.stalledIntervalMs ?? 30_000,
        maxStalledCount: this.options.maxStalledCount ?? 10,
        autorun: false,
      },
    );
    worker.on('error', (error) => this.options.onError?.(error));
    this.worker = worker;
    await worker.waitUntilReady();
    void worker.run().catch((error: unknown) => {
      this.options.onError?.(error instanceof Error ? error : new Error(String(error)));
    });
  }

  /** Stops taking jobs and waits for the running ones (up to `timeoutMs`, then abandons them to retry). */
  async close(timeoutMs = 10_000): Promise<void> {
    const worker = this.worker;
    this.worker = undefined;
    if (worker) {
      let timer: NodeJS.Timeout | undefined;
      const timedOut = new Promise<'timeout'>((resolve) => {
        timer = setTimeout(() => resolve('timeout'), timeoutMs);
      });
      const result = await Promise.race([worker.close().then(() => 'closed' as const), timedOut]);
      clearTimeout(timer);
      if (result === 'timeout') await worker.close(true);
    }
    if (this.connection) {
      await this.connection.quit().catch(() => this.connection?.disconnect());
      this.connection = undefined;
    }
  }

  private async process(
    job: Job<LifecycleJobData, string, LifecycleJobName>,
    token?: string,
  ): Promise<string> {
    const started = performance.now();
    const name = job.name;
    const maxAttempts = job.opts.attempts ?? 1;
    const attempt = job.attemptsMade + 1;
    const finish = (outcome: LifecycleJobOutcome): void => {
      this.options.onFinished?.(name, outcome, (performance.now() - started) / 1000);
    };
    const handler = this.registry.get(name);
    if (!handler) {
      finish('failed');
      throw new PermanentJobError(`no handler for job "${name}"`);
    }
    const parsed = lifecycleJobDataSchema.safeParse(job.data);
    if (!parsed.success || !job.id) {
      finish('failed');
      throw new PermanentJobError(`malformed job data: ${parsed.error?.message ?? 'missing id'}`);
    }
    try {
      const outcome = await handler.handle({
        id: job.id,
        name,
        data: parsed.data,
        attempt,
        maxAttempts,
        isFinalAttempt: attempt >= maxAttempts,
      });
      finish(outcome);
      return outcome;
    } catch (error) {
      if (error instanceof JobDeferral && token) {
        finish('deferred');
        await job.moveToDelayed(Date.now() + error.delayMs, token);
        throw new DelayedError(error.message);
      }
      finish(error instanceof UnrecoverableError || attempt >= maxAttempts ? 'failed' : 'retrying');
      throw error;
    }
  }
}
