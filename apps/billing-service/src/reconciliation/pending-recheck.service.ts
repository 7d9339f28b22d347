import { Inject, Injectable, Logger, OnApplicationBootstrap, OnModuleDestroy } from '@nestjs/common';
import { APP_CONFIG } from '@app/config';
import { errorMessage } from '../common/ids';
import { forEachLimit, PollingLoop } from '../common/polling-loop';
import type { Config } from '../config/env';
import { BillingProvider } from '../billing-provider/billing-provider';
import { EntitlementSyncService } from '../entitlements/entitlement-sync.service';
import { SubscriptionsRepository } from '../records/subscriptions.repository';

/**
 * Billing does not wait for Kill Bill's push about anything still waiting: every BILLING_RECHECK_INTERVAL_SECONDS
 * the accounts with a pending subscription (a new instance, or one waiting for its first payment) are re-read.
 * Lost notifications then cost seconds, not the hour of the full reconciliation (which stays).
 */
@Injectable()
export class PendingRecheckService implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger('PendingRecheck');
  private readonly loop: PollingLoop;

  constructor(
    @Inject(APP_CONFIG) private readonly config: Config,
    private readonly subscriptions: SubscriptionsRepository,
    private readonly sync: EntitlementSyncService,
    private readonly provider: BillingProvider,
  ) {
    this.loop = new PollingLoop(
      'PendingRecheck',
      Math.max(config.BILLING_RECHECK_INTERVAL_SECONDS, 1) * 1000,
      async () => {
        await this.recheck();
        return 0;
      },
    );
  }

  onApplicationBootstrap(): void {
    if (this.provider.reconciles && this.config.BILLING_RECHECK_INTERVAL_SECONDS > 0) {
      this.loop.start();
    }
  }

  async onModuleDestroy(): Promise<void> {
    await this.loop.stop();
  }

  private async recheck(): Promise<void> {
    await forEachLimit(await this.subscriptions.accountsWaiting(), 2, async (accountId) => {
      try {
        await this.sync.syncAccount(accountId, 'recheck of a waiting subscription');
      } catch (error) {
        this.logger.warn({ msg: 'recheck failed', account_id: accountId, error: errorMessage(error) });
      }
    });
  }
}
