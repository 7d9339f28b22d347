import { Module } from '@nestjs/common';
import { AccessModule } from '../access/access.module';
import { BillingProviderModule } from '../billing-provider/billing-provider.module';
import { RecordsModule } from '../records/records.module';
import { InvoicesController } from './invoices.controller';
import { InvoicesService } from './invoices.service';

/** The customer's invoices, read from the billing engine. */
@Module({
  imports: [AccessModule, BillingProviderModule, RecordsModule],
  controllers: [InvoicesController],
  providers: [InvoicesService],
})
export class InvoicesModule {}
