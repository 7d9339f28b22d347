import { Module } from '@nestjs/common';
import { MembershipService } from './access/membership.service';
import { AccountsController } from './accounts/accounts.controller';
import { AccountsService } from './accounts/accounts.service';
import { BillingAccountsRepository } from './accounts/billing-accounts.repository';
import { AdminBillingController } from './admin/admin-billing.controller';
import { AdvisoryLocks } from './common/advisory-lock';
import { Clock } from './common/clock';
import { EntitlementSyncService } from './entitlements/entitlement-sync.service';
import { InstanceServiceClient } from './integrations/instance-service.client';
import { InternalApiClient } from './integrations/internal-api.client';
import { TenantDirectoryClient } from './integrations/tenant-directory.client';
import { UserDirectoryClient } from './integrations/user-directory.client';
import { InvoicesController } from './invoices/invoices.controller';
import { InvoicesService } from './invoices/invoices.service';
import { KillBillModule } from './killbill/killbill.module';
import { BillingMailDispatcher } from './notifications/billing-mail.dispatcher';
import { BillingMailService } from './notifications/billing-mail.service';
import { MailOutboxRepository } from './notifications/mail-outbox.repository';
import { InternalPlansController, PlansController } from './plans/plans.controller';
import { PlansService } from './plans/plans.service';
import { PendingRecheckService } from './reconciliation/pending-recheck.service';
import { ReconciliationService } from './reconciliation/reconciliation.service';
import {
  InternalSubscriptionsController,
  SubscriptionsController,
} from './subscriptions/subscriptions.controller';
import { SubscriptionsRepository } from './subscriptions/subscriptions.repository';
import { SubscriptionsService } from './subscriptions/subscriptions.service';
import { CustomerTrialsRepository } from './subscriptions/customer-trials.repository';
import { InboxProcessor } from './webhooks/inbox-processor.service';
import { InboxWriter } from './webhooks/inbox-writer';
import { InboxRepository } from './webhooks/inbox.repository';
import { KillBillWebhookReceiver } from './webhooks/killbill-webhook.receiver';
import { NotificationHandler } from './webhooks/notification-handler.service';
import { BacklogMetrics } from './common/backlog.metrics';
import { BacklogRepository } from './common/backlog.repository';

/** Plans, subscriptions, invoices, the Kill Bill push receiver and everything that keeps entitlements right. */
@Module({
  imports: [KillBillModule],
  controllers: [
    PlansController,
    InternalPlansController,
    SubscriptionsController,
    InternalSubscriptionsController,
    AccountsController,
    InvoicesController,
    AdminBillingController,
  ],
  providers: [
    Clock,
    BacklogRepository,
    BacklogMetrics,
    AdvisoryLocks,
    InternalApiClient,
    InstanceServiceClient,
    TenantDirectoryClient,
    UserDirectoryClient,
    MembershipService,
    PlansService,
    BillingAccountsRepository,
    AccountsService,
    SubscriptionsRepository,
    CustomerTrialsRepository,
    SubscriptionsService,
    InvoicesService,
    MailOutboxRepository,
    BillingMailService,
    BillingMailDispatcher,
    EntitlementSyncService,
    InboxRepository,
    InboxWriter,
    NotificationHandler,
    InboxProcessor,
    KillBillWebhookReceiver,
    ReconciliationService,
    PendingRecheckService,
  ],
  // What the payments module uses (PaymentsModule imports BillingModule, never the other way round).
  exports: [
    AdvisoryLocks,
    MembershipService,
    EntitlementSyncService,
    MailOutboxRepository,
    BillingMailDispatcher,
  ],
})
export class BillingModule {}
