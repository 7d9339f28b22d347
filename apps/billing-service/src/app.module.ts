import { Module } from '@nestjs/common';
import { AuthModule } from '@app/auth';
import { MailModule } from '@app/mail';
import { ServiceCoreModule } from '@app/platform';
import { BillingModule } from './billing.module';
import { envSchema } from './config/env';
import { dataSourceSpec } from './database/data-source';
import { KillBillModule } from './killbill/killbill.module';
import { KillBillHealthCheck } from './killbill/killbill.health';
import { PaymentsModule } from './payments/payments.module';

@Module({
  imports: [
    ServiceCoreModule.forService({
      envSchema,
      dataSource: dataSourceSpec,
      extraChecks: [KillBillHealthCheck],
      extraImports: [KillBillModule],
    }),
    AuthModule.forRoot(),
    MailModule.forRoot(),
    BillingModule,
    PaymentsModule,
  ],
})
export class AppModule {}
