import { Module } from '@nestjs/common';
import { AccessModule } from '../access/access.module';
import { AccountsModule } from '../accounts/accounts.module';
import { EntitlementsModule } from '../entitlements/entitlements.module';
import { IntegrationsModule } from '../integrations/integrations.module';
import { KillBillModule } from '../killbill/killbill.module';
import { PlansModule } from '../plans/plans.module';
import { RecordsModule } from '../records/records.module';
import { InternalSubscriptionsController, SubscriptionsController } from './subscriptions.controller';
import { SubscriptionsService } from './subscriptions.service';

/** One subscription per instance: create, cancel, change plan; the internal routes instance-service calls. */
@Module({
  imports: [
    AccessModule,
    AccountsModule,
    EntitlementsModule,
    IntegrationsModule,
    KillBillModule,
    PlansModule,
    RecordsModule,
  ],
  controllers: [SubscriptionsController, InternalSubscriptionsController],
  providers: [SubscriptionsService],
  exports: [SubscriptionsService],
})
export class SubscriptionsModule {}
