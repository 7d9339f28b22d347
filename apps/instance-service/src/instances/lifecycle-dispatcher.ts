import { Injectable, Logger } from '@nestjs/common';
import { LifecycleQueue, lifecycleJobId, type LifecycleJobRequest } from '@app/queue';

/**
 * Enqueues the job of an intent that is already committed in the instance row. The job id is deterministic,
 * so a repeated enqueue adds nothing; a lost one (Redis down, crash) is re-enqueued by the worker's
 * reconciler from the row, which is why a failure here is logged and not turned into an error.
 */
@Injectable()
export class LifecycleDispatcher {
  private readonly logger = new Logger(LifecycleDispatcher.name);

  constructor(private readonly queue: LifecycleQueue) {}

  async dispatch(job: LifecycleJobRequest): Promise<string> {
    const jobId = lifecycleJobId(job.instanceId, job.name, job.generation);
    try {
      return (await this.queue.enqueue(job)).jobId;
    } catch (error) {
      this.logger.warn({
        msg: 'enqueue failed; the reconciler will enqueue the job from the instance row',
        job_id: jobId,
        error: error instanceof Error ? error.message : String(error),
      });
      return jobId;
    }
  }
}
