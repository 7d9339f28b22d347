import { Module } from '@nestjs/common';
import { AccessModule } from '../access/access.module';
import { KillBillModule } from '../killbill/killbill.module';
import { RecordsModule } from '../records/records.module';
import { AccountsController } from './accounts.controller';
import { AccountsService } from './accounts.service';

/** The tenants' billing accounts: created on first subscription, shown to the customer. */
@Module({
  imports: [AccessModule, KillBillModule, RecordsModule],
  controllers: [AccountsController],
  providers: [AccountsService],
  exports: [AccountsService],
})
export class AccountsModule {}
