import { Module } from '@nestjs/common';
import { BillingProviderModule } from '../billing-provider/billing-provider.module';
import { ReconciliationModule } from '../reconciliation/reconciliation.module';
import { WebhooksModule } from '../webhooks/webhooks.module';
import { AdminBillingController } from './admin-billing.controller';

/** The platform admin's billing routes (bootstrap, reconcile, inbox). */
@Module({
  imports: [BillingProviderModule, ReconciliationModule, WebhooksModule],
  controllers: [AdminBillingController],
})
export class AdminModule {}
