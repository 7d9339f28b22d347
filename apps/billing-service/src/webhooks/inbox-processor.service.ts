import { Inject, Injectable, Logger, OnApplicationBootstrap, OnModuleDestroy } from '@nestjs/common';
import type { Counter } from 'prom-client';
import { APP_CONFIG } from '@app/config';
import { MetricsRegistry } from '@app/metrics';
import { errorMessage } from '../common/ids';
import { counter } from '../common/metrics';
import { forEachLimit, PollingLoop } from '../common/polling-loop';
import type { Config } from '../config/env';
import { InboxWriter } from './inbox-writer';
import { InboxRepository, InboxRow } from './inbox.repository';
import { HandlingOutcome, NotificationHandler } from './notification-handler.service';

const LEASE_MS = 120_000;

/**
 * Processes the inbox asynchronously: claims due rows (SKIP LOCKED, under a lease), handles each, and on
 * failure retries with exponential backoff up to BILLING_INBOX_MAX_ATTEMPTS, then marks it failed (the
 * periodic reconciliation still converges the state it was about). Kicked by the receiver after each new row
 * and woken by a timer for retries and other replicas' rows. Bursts are absorbed by the receiver first (see
 * `deferred`).
 */
@Injectable()
export class InboxProcessor implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger('InboxProcessor');
  private readonly loop: PollingLoop;
  private readonly processed: Counter<'result'>;
  private forced = false;

  constructor(
    @Inject(APP_CONFIG) private readonly config: Config,
    private readonly inbox: InboxRepository,
    private readonly handler: NotificationHandler,
    private readonly writer: InboxWriter,
    metrics: MetricsRegistry,
  ) {
    this.loop = new PollingLoop('InboxProcessor', config.BILLING_INBOX_POLL_MS, () => this.drainOnce());
    this.processed = counter(metrics, {
      name: 'billing_killbill_notifications_processed_total',
      help: 'Kill Bill notifications taken from the inbox, by result (processed, ignored, retry, failed)',
      labelNames: ['result'],
    });
  }

  onApplicationBootstrap(): void {
    this.loop.start();
  }

  async onModuleDestroy(): Promise<void> {
    await this.loop.stop();
  }

  kick(): void {
    if (this.deferred()) return;
    this.loop.kick();
  }

  /** Processes everything due now, burst or not (tests, admin). */
  async drainNow(): Promise<void> {
    this.forced = true;
    try {
      await this.loop.drainNow();
    } finally {
      this.forced = false;
    }
  }

  /**
   * During a burst the receiver comes first (Kill Bill waits for its 2xx, the inbox has the rest): processing
   * waits for the burst to end (the poll timer resumes it), but never longer than BILLING_INBOX_BURST_DEFER_MS;
   * in a longer burst it runs with an eighth of its lanes.
   */
  private deferred(): boolean {
    if (this.forced) return false;
    const since = this.writer.burstSince();
    return since !== null && Date.now() - since < this.config.BILLING_INBOX_BURST_DEFER_MS;
  }

  private async drainOnce(): Promise<number> {
    if (this.deferred()) return 0;
    const full = this.config.BILLING_INBOX_CONCURRENCY;
    const concurrency =
      !this.forced && this.writer.burstSince() !== null ? Math.max(1, Math.floor(full / 8)) : full;
    const rows = await this.inbox.claim(concurrency * 2, LEASE_MS);
    const done: { id: string; status: 'processed' | 'ignored'; outcome: string }[] = [];
    await forEachLimit(rows, concurrency, async (row) => {
      const outcome = await this.processOne(row);
      if (outcome) done.push({ id: row.id, ...outcome });
    });
    // One commit for the batch; a crash before it only makes these rows due again when their lease ends.
    await this.inbox.finishMany(done);
    for (const d of done) this.processed.inc({ result: d.status });
    return rows.length;
  }

  /** The outcome of a handled row, or null when it failed (then already rescheduled or marked failed). */
  private async processOne(row: InboxRow): Promise<HandlingOutcome | null> {
    try {
      return await this.handler.handle(row);
    } catch (error) {
      const last = row.attempts >= this.config.BILLING_INBOX_MAX_ATTEMPTS;
      const retryIn = last
        ? null
        : Math.min(
            this.config.BILLING_INBOX_RETRY_BASE_MS * 2 ** (row.attempts - 1),
            this.config.BILLING_INBOX_RETRY_MAX_MS,
          );
      this.logger.warn({
        msg: last ? 'notification failed for good' : 'notification failed, will retry',
        inbox_id: row.id,
        attempt: row.attempts,
        retry_in_ms: retryIn,
        error: errorMessage(error),
      });
      await this.inbox.fail(row.id, errorMessage(error), retryIn);
      this.processed.inc({ result: last ? 'failed' : 'retry' });
      return null;
    }
  }
}
