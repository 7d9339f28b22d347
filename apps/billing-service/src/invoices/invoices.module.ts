import { Module } from '@nestjs/common';
import { AccessModule } from '../access/access.module';
import { KillBillModule } from '../killbill/killbill.module';
import { RecordsModule } from '../records/records.module';
import { InvoicesController } from './invoices.controller';
import { InvoicesService } from './invoices.service';

/** The customer's invoices, read from the billing engine. */
@Module({
  imports: [AccessModule, KillBillModule, RecordsModule],
  controllers: [InvoicesController],
  providers: [InvoicesService],
})
export class InvoicesModule {}
