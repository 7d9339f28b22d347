import { Inject, Injectable, Logger } from '@nestjs/common';
import { APP_CONFIG } from '@app/config';
import type { Config } from '../config/env';
import { Gauge } from 'prom-client';
import { MetricsRegistry } from '@app/metrics';
import { Backlog, BacklogRepository } from './backlog.repository';

/**
 * `<queue>_pending`, `<queue>_oldest_pending_seconds` and `<queue>_failed` for the Kill Bill inbox
 * (`billing_inbox_*`) and the mail outbox (`mail_outbox_*`), read from their tables at scrape time.
 */
@Injectable()
export class BacklogMetrics {
  private readonly logger = new Logger(BacklogMetrics.name);

  constructor(metrics: MetricsRegistry, backlogs: BacklogRepository, @Inject(APP_CONFIG) config: Config) {
    this.register(metrics, 'billing_inbox', 'Kill Bill push inbox', () => backlogs.killbillInbox());
    this.register(metrics, 'mail_outbox', 'billing mail outbox', () => backlogs.mailOutbox());
    this.registerPendingPayments(metrics, backlogs, config.PAYMENT_EXPIRY_MINUTES * 60);
  }

  /** `payments_pending_oldest_seconds` against `payment_expiry_seconds`: a payment past expiry means the poller is stuck. */
  private registerPendingPayments(
    metrics: MetricsRegistry,
    backlogs: BacklogRepository,
    expiry: number,
  ): void {
    if (metrics.registry.getSingleMetric('payments_pending_oldest_seconds')) return;
    const logger = this.logger;
    const registers = [metrics.registry];
    new Gauge({
      name: 'payment_expiry_seconds',
      help: 'PAYMENT_EXPIRY_MINUTES in seconds: a payment still pending after it is cancelled by the poller',
      registers,
    }).set(expiry);
    new Gauge({
      name: 'payments_pending_oldest_seconds',
      help: 'Age of the oldest payment still pending at the gateway (0 when none)',
      registers,
      async collect() {
        try {
          this.set((await backlogs.pendingPayments()).oldestPendingSeconds);
        } catch (error) {
          logger.warn(`payments_pending_oldest_seconds: ${String(error)}`);
        }
      },
    });
  }

  private register(
    metrics: MetricsRegistry,
    prefix: string,
    what: string,
    read: () => Promise<Backlog>,
  ): void {
    if (metrics.registry.getSingleMetric(`${prefix}_pending`)) return;
    const logger = this.logger;
    const registers = [metrics.registry];
    const oldest = new Gauge({
      name: `${prefix}_oldest_pending_seconds`,
      help: `Age of the oldest row of the ${what} still to be handled`,
      registers,
    });
    const failed = new Gauge({
      name: `${prefix}_failed`,
      help: `Rows of the ${what} that failed for good`,
      registers,
    });
    new Gauge({
      name: `${prefix}_pending`,
      help: `Rows of the ${what} still to be handled`,
      registers,
      // One query fills the three gauges; prom-client collects this one first (registration order).
      async collect() {
        try {
          const backlog = await read();
          this.set(backlog.pending);
          oldest.set(backlog.oldestPendingSeconds);
          failed.set(backlog.failed);
        } catch (error) {
          logger.warn(`${prefix}: ${String(error)}`);
        }
      },
    });
  }
}
