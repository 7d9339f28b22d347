import { Module } from '@nestjs/common';
import { BillingProviderModule } from '../billing-provider/billing-provider.module';
import { CommonModule } from '../common/common.module';
import { EntitlementsModule } from '../entitlements/entitlements.module';
import { RecordsModule } from '../records/records.module';
import { PendingRecheckService } from './pending-recheck.service';
import { ReconciliationService } from './reconciliation.service';

/** The periodic full reconciliation and the short recheck of accounts waiting for Kill Bill. */
@Module({
  imports: [BillingProviderModule, CommonModule, EntitlementsModule, RecordsModule],
  providers: [ReconciliationService, PendingRecheckService],
  exports: [ReconciliationService],
})
export class ReconciliationModule {}
