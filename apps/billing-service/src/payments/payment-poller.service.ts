import { Inject, Injectable, Logger, OnApplicationBootstrap, OnModuleDestroy } from '@nestjs/common';
import { APP_CONFIG } from '@app/config';
import { errorMessage } from '../common/ids';
import { forEachLimit, PollingLoop } from '../common/polling-loop';
import type { Config } from '../config/env';
import { PaymentConfirmation } from './payment-confirmation.service';
import { PaymentGateway } from './payment-gateway';
import { PaymentMetrics } from './payment-metrics';
import { PaymentsRepository } from './payments.repository';

const BATCH = 32;
/** A start that got no answer from the gateway within this time will never get one. */
const START_TIMEOUT_MS = 120_000;

/**
 * Nothing depends on the result URL: every pending payment is polled, often at first and then backing off
 * (PAYMENT_POLL_MIN_MS doubling up to PAYMENT_POLL_MAX_MS), so a lost status update costs at most one poll
 * interval. A payment still unpaid after PAYMENT_EXPIRY_MINUTES ends as cancelled (PaymentConfirmation decides).
 */
@Injectable()
export class PaymentPoller implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger('PaymentPoller');
  private readonly loop: PollingLoop;

  constructor(
    @Inject(APP_CONFIG) private readonly config: Config,
    private readonly payments: PaymentsRepository,
    private readonly confirmation: PaymentConfirmation,
    private readonly metrics: PaymentMetrics,
    private readonly gateway: PaymentGateway,
  ) {
    this.loop = new PollingLoop('PaymentPoller', config.PAYMENT_WORK_POLL_MS, () => this.drainOnce());
  }

  onApplicationBootstrap(): void {
    if (this.gateway.takesPayments) this.loop.start();
  }

  async onModuleDestroy(): Promise<void> {
    await this.loop.stop();
  }

  drainNow(): Promise<void> {
    return this.loop.drainNow();
  }

  private async drainOnce(): Promise<number> {
    for (const row of await this.payments.failInterruptedStarts(START_TIMEOUT_MS)) {
      this.metrics.status(row.method, 'failed');
      this.logger.warn({ msg: 'payment start never answered: failed', payment_id: row.id });
    }
    const due = await this.payments.claimDuePolls(
      BATCH,
      this.config.PAYMENT_POLL_MIN_MS,
      this.config.PAYMENT_POLL_MAX_MS,
    );
    await forEachLimit(due, 8, async (id) => {
      try {
        await this.confirmation.confirm(id, 'poller');
      } catch (error) {
        this.logger.warn({ msg: 'poll failed, will poll again', payment_id: id, error: errorMessage(error) });
      }
    });
    return due.length;
  }
}
