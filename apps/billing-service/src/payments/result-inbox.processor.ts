import { Inject, Injectable, Logger, OnApplicationBootstrap, OnModuleDestroy } from '@nestjs/common';
import { APP_CONFIG } from '@app/config';
import { errorMessage, isUuid } from '../common/ids';
import { forEachLimit, PollingLoop } from '../common/polling-loop';
import type { Config } from '../config/env';
import { PaymentConfirmation } from './payment-confirmation.service';
import { ResultInboxRepository, ResultInboxRow } from './result-inbox.repository';
import { ResultInboxWriter } from './result-inbox.writer';

const LEASE_MS = 60_000;
const MAX_ATTEMPTS = 10;
/**
 * Stored updates confirmed at once (each a poll to PayNow, then the settlement). The result endpoint shares the
 * event loop with this work: at 4 rather than 16, bench:payments (500 payments x 3 posts) answered at p50
 * 18-23 ms instead of 31-33 ms and p99 36-68 ms instead of 67-110 ms (still noisy), and drained no slower.
 */
const CONFIRMATIONS_AT_ONCE = 4;
/** While a burst goes on longer than PAYMENT_RESULT_BURST_DEFER_MS, confirmations go one at a time. */
const CONFIRMATIONS_IN_BURST = 1;
/** How soon a deferred drain looks again whether the burst is over (the poll timer is the fallback). */
const RESUME_CHECK_MS = 100;

/**
 * Handles stored PayNow status updates asynchronously. An update only says "look at this payment": the
 * confirmation polls the gateway and believes that answer. An unknown reference is logged and dropped.
 */
@Injectable()
export class ResultInboxProcessor implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger('PaynowResults');
  private readonly loop: PollingLoop;
  private readonly deferMs: number;
  private resume: NodeJS.Timeout | null = null;
  private forced = false;

  constructor(
    @Inject(APP_CONFIG) config: Config,
    private readonly inbox: ResultInboxRepository,
    private readonly confirmation: PaymentConfirmation,
    private readonly writer: ResultInboxWriter,
  ) {
    this.deferMs = config.PAYMENT_RESULT_BURST_DEFER_MS;
    this.loop = new PollingLoop('PaynowResults', config.PAYMENT_WORK_POLL_MS, () => this.drainOnce());
  }

  onApplicationBootstrap(): void {
    this.loop.start();
  }

  async onModuleDestroy(): Promise<void> {
    if (this.resume) clearTimeout(this.resume);
    this.resume = null;
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
   * During a burst of status updates the endpoint comes first (each update is stored before its 200; PayNow
   * only waits for that answer): confirming them (a poll each, Kill Bill, mail) waits until the burst ends,
   * checked every RESUME_CHECK_MS, but never longer than PAYMENT_RESULT_BURST_DEFER_MS; in a longer burst it
   * runs one at a time. bench:payments measured the work it defers as the main cost of the endpoint's p99.
   */
  private deferred(): boolean {
    if (this.forced) return false;
    const since = this.writer.burstSince();
    if (since === null || Date.now() - since >= this.deferMs) return false;
    if (!this.resume) {
      this.resume = setTimeout(() => {
        this.resume = null;
        this.kick();
      }, RESUME_CHECK_MS);
      this.resume.unref();
    }
    return true;
  }

  private async drainOnce(): Promise<number> {
    if (this.deferred()) return 0;
    const lanes =
      !this.forced && this.writer.burstSince() !== null ? CONFIRMATIONS_IN_BURST : CONFIRMATIONS_AT_ONCE;
    const rows = await this.inbox.claim(lanes * 16, LEASE_MS);
    await forEachLimit(rows, lanes, (row) => this.handle(row));
    return rows.length;
  }

  private async handle(row: ResultInboxRow): Promise<void> {
    try {
      const payment = isUuid(row.reference)
        ? await this.confirmation.confirm(row.reference, 'status update')
        : null;
      if (!payment) {
        this.logger.warn({ msg: 'status update for an unknown payment ignored', reference: row.reference });
        await this.inbox.finish(row.id, 'ignored', 'unknown_reference');
        return;
      }
      await this.inbox.finish(row.id, 'processed', `confirmed:${payment.status}`);
    } catch (error) {
      const last = row.attempts >= MAX_ATTEMPTS;
      // The poller still polls the payment, so a given-up update loses nothing.
      await this.inbox.fail(
        row.id,
        errorMessage(error),
        last ? null : Math.min(500 * 2 ** row.attempts, 60_000),
      );
    }
  }
}
