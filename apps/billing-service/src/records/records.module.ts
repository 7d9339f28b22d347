import { Module } from '@nestjs/common';
import { BillingAccountsRepository } from './billing-accounts.repository';
import { CustomerTrialsRepository } from './customer-trials.repository';
import { SubscriptionsRepository } from './subscriptions.repository';

/**
 * The local billing rows (accounts, subscriptions, customer trials): below every feature that reads or writes
 * them (accounts, subscriptions, entitlements, notifications, reconciliation, webhooks), so none of those
 * depends on another one just to reach a table.
 */
@Module({
  providers: [BillingAccountsRepository, SubscriptionsRepository, CustomerTrialsRepository],
  exports: [BillingAccountsRepository, SubscriptionsRepository, CustomerTrialsRepository],
})
export class RecordsModule {}
