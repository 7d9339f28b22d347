import { Injectable, Logger } from '@nestjs/common';
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

  constructor(metrics: MetricsRegistry, backlogs: BacklogRepository) {
    this.register(metrics, 'billing_inbox', 'Kill Bill push inbox', () => backlogs.killbillInbox());
    this.register(metrics, 'mail_outbox', 'billing mail outbox', () => backlogs.mailOutbox());
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
