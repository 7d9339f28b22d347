import { Module } from '@nestjs/common';
import { APP_CONFIG } from '@app/config';
import type { Config } from '../config/env';
import { KillBillBootstrapService } from '../killbill/killbill-bootstrap.service';
import { KillBillClient } from '../killbill/killbill.client';
import { KillBillModule } from '../killbill/killbill.module';
import { BillingAccountsRepository } from '../records/billing-accounts.repository';
import { CustomerTrialsRepository } from '../records/customer-trials.repository';
import { RecordsModule } from '../records/records.module';
import { SubscriptionsRepository } from '../records/subscriptions.repository';
import { BillingProvider } from './billing-provider';
import { KillBillBillingProvider } from './killbill.billing-provider';
import { NoneBillingProvider } from './none.billing-provider';

/** The provider is picked here, once, from BILLING_PROVIDER; nothing else asks which one runs. */
function billingProvider(
  config: Config,
  killbill: KillBillClient,
  bootstrap: KillBillBootstrapService,
  accounts: BillingAccountsRepository,
  subscriptions: SubscriptionsRepository,
  trials: CustomerTrialsRepository,
): BillingProvider {
  if (config.BILLING_PROVIDER === 'none') return new NoneBillingProvider(config, accounts, subscriptions);
  return new KillBillBillingProvider({ config, killbill, bootstrap, accounts, subscriptions, trials });
}

/** The billing provider port (its readiness check, BillingProviderHealthCheck, lives in HealthModule). */
@Module({
  imports: [KillBillModule, RecordsModule],
  providers: [
    {
      provide: BillingProvider,
      inject: [
        APP_CONFIG,
        KillBillClient,
        KillBillBootstrapService,
        BillingAccountsRepository,
        SubscriptionsRepository,
        CustomerTrialsRepository,
      ],
      useFactory: billingProvider,
    },
  ],
  exports: [BillingProvider],
})
export class BillingProviderModule {}
