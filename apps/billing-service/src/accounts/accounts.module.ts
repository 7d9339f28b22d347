import { Module } from '@nestjs/common';
import { AccessModule } from '../access/access.module';
import { BillingProviderModule } from '../billing-provider/billing-provider.module';
import { RecordsModule } from '../records/records.module';
import { AccountsController } from './accounts.controller';
import { AccountsService } from './accounts.service';

/** The tenants' billing accounts: created on first subscription, shown to the customer. */
@Module({
  imports: [AccessModule, BillingProviderModule, RecordsModule],
  controllers: [AccountsController],
  providers: [AccountsService],
})
export class AccountsModule {}
