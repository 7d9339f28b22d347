import { Module } from '@nestjs/common';
import { CommonModule } from '../common/common.module';
import { IntegrationsModule } from '../integrations/integrations.module';
import { KillBillModule } from '../killbill/killbill.module';
import { NotificationsModule } from '../notifications/notifications.module';
import { PlansModule } from '../plans/plans.module';
import { RecordsModule } from '../records/records.module';
import { EntitlementSyncService } from './entitlement-sync.service';

/** Keeps each instance's desired state and limits in step with its subscription. */
@Module({
  imports: [
    CommonModule,
    IntegrationsModule,
    KillBillModule,
    NotificationsModule,
    PlansModule,
    RecordsModule,
  ],
  providers: [EntitlementSyncService],
  exports: [EntitlementSyncService],
})
export class EntitlementsModule {}
