import { Logger } from '@nestjs/common';
import { errorMessage } from './ids';

/** Runs `fn` on every item with at most `limit` in flight. */
export async function forEachLimit<T>(
  items: T[],
  limit: number,
  fn: (item: T) => Promise<void>,
): Promise<void> {
  let next = 0;
  const lanes = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) {
      const item = items[next++];
      await fn(item);
    }
  });
  await Promise.all(lanes);
}

/**
 * The loop of a durable queue kept in Postgres: `drainOnce` claims and handles one batch and returns how many
 * items it handled; the loop repeats until a batch comes back empty. It runs on a timer (retries that
 * became due, rows written by other replicas) and whenever `kick()` says there is new work. The running
 * drain is tracked, errors are logged, and `stop()` waits for it.
 */
export class PollingLoop {
  private readonly logger: Logger;
  private timer: NodeJS.Timeout | null = null;
  private current: Promise<void> | null = null;
  private again = false;
  private stopped = false;

  constructor(
    name: string,
    private readonly pollMs: number,
    private readonly drainOnce: () => Promise<number>,
  ) {
    this.logger = new Logger(name);
  }

  start(): void {
    this.stopped = false;
    this.timer = setInterval(() => this.kick(), this.pollMs);
    this.timer.unref();
    this.kick();
  }

  /** New work may be there: drain now (or right after the drain in progress). */
  kick(): void {
    if (this.stopped) return;
    if (this.current) {
      this.again = true;
      return;
    }
    this.current = this.drain().finally(() => {
      this.current = null;
    });
  }

  /** Drains until nothing is due, then resolves (tests, admin routes). */
  async drainNow(): Promise<void> {
    while (this.current) await this.current;
    if (this.stopped) return;
    this.kick();
    while (this.current) await this.current;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    while (this.current) await this.current;
  }

  private async drain(): Promise<void> {
    do {
      this.again = false;
      try {
        while (!this.stopped && (await this.drainOnce()) > 0) {
          // keep going while batches come back full of work
        }
      } catch (error) {
        this.logger.error({ msg: 'queue drain failed', error: errorMessage(error) });
      }
    } while (this.again && !this.stopped);
  }
}
