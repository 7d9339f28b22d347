import { Module } from '@nestjs/common';
import { AuthModule } from '@app/auth';
import { MailModule } from '@app/mail';
import { ServiceCoreModule } from '@app/platform';
import { AccountsModule } from './accounts/accounts.module';
import { AdminModule } from './admin/admin.module';
import { BillingProviderHealthCheck } from './billing-provider/billing-provider.health';
import { BillingProviderModule } from './billing-provider/billing-provider.module';
import { CommonModule } from './common/common.module';
import { EntitlementsModule } from './entitlements/entitlements.module';
import { InvoicesModule } from './invoices/invoices.module';
import { NotificationsModule } from './notifications/notifications.module';
import { PlansModule } from './plans/plans.module';
import { ReconciliationModule } from './reconciliation/reconciliation.module';
import { SubscriptionsModule } from './subscriptions/subscriptions.module';
import { WebhooksModule } from './webhooks/webhooks.module';
import { envSchema } from './config/env';
import { dataSourceSpec } from './database/data-source';
import { PaymentsModule } from './payments/payments.module';

@Module({
  imports: [
    ServiceCoreModule.forService({
      envSchema,
      dataSource: dataSourceSpec,
      extraChecks: [BillingProviderHealthCheck],
      extraImports: [BillingProviderModule],
    }),
    AuthModule.forRoot(),
    MailModule.forRoot(),
    CommonModule,
    PlansModule,
    AccountsModule,
    SubscriptionsModule,
    EntitlementsModule,
    InvoicesModule,
    NotificationsModule,
    WebhooksModule,
    ReconciliationModule,
    AdminModule,
    PaymentsModule,
  ],
})
export class AppModule {}
