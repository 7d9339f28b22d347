import { Module } from '@nestjs/common';
import { KillBillModule } from '../killbill/killbill.module';
import { PlansModule } from '../plans/plans.module';
import { ReconciliationModule } from '../reconciliation/reconciliation.module';
import { WebhooksModule } from '../webhooks/webhooks.module';
import { AdminBillingController } from './admin-billing.controller';

/** The platform admin's billing routes (bootstrap, reconcile, inbox). */
@Module({
  imports: [KillBillModule, PlansModule, ReconciliationModule, WebhooksModule],
  controllers: [AdminBillingController],
})
export class AdminModule {}
