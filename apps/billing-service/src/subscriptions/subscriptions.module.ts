import { Module } from '@nestjs/common';
import { AccessModule } from '../access/access.module';
import { BillingProviderModule } from '../billing-provider/billing-provider.module';
import { EntitlementsModule } from '../entitlements/entitlements.module';
import { IntegrationsModule } from '../integrations/integrations.module';
import { PlansModule } from '../plans/plans.module';
import { RecordsModule } from '../records/records.module';
import { InternalSubscriptionsController, SubscriptionsController } from './subscriptions.controller';
import { SubscriptionsService } from './subscriptions.service';

/** One subscription per instance: create, cancel, change plan; the internal routes instance-service calls. */
@Module({
  imports: [
    AccessModule,
    BillingProviderModule,
    EntitlementsModule,
    IntegrationsModule,
    PlansModule,
    RecordsModule,
  ],
  controllers: [SubscriptionsController, InternalSubscriptionsController],
  providers: [SubscriptionsService],
  exports: [SubscriptionsService],
})
export class SubscriptionsModule {}
