import { Injectable, Logger, OnApplicationShutdown } from '@nestjs/common';

/**
 * Work done after the response (sending mail), so that answers do not depend on SMTP latency and take the
 * same time whether or not an email exists. Every task is tracked: failures are logged with their name,
 * and shutdown waits for the tasks still running.
 */
@Injectable()
export class BackgroundTasks implements OnApplicationShutdown {
  private readonly logger = new Logger('BackgroundTasks');
  private readonly running = new Set<Promise<void>>();

  run(name: string, task: () => Promise<unknown>): void {
    const promise = Promise.resolve()
      .then(task)
      .then(
        () => undefined,
        (error: unknown) => {
          this.logger.error({
            msg: 'background task failed',
            task: name,
            error: error instanceof Error ? error.message : String(error),
          });
        },
      )
      .finally(() => this.running.delete(promise));
    this.running.add(promise);
  }

  /** Resolves when every task started so far has finished. */
  async drain(): Promise<void> {
    while (this.running.size > 0) await Promise.all([...this.running]);
  }

  async onApplicationShutdown(): Promise<void> {
    await this.drain();
  }
}
