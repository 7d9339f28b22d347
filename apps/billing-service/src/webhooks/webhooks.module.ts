import { Module } from '@nestjs/common';
import { BillingProviderModule } from '../billing-provider/billing-provider.module';
import { EntitlementsModule } from '../entitlements/entitlements.module';
import { KillBillModule } from '../killbill/killbill.module';
import { NotificationsModule } from '../notifications/notifications.module';
import { RecordsModule } from '../records/records.module';
import { InboxProcessor } from './inbox-processor.service';
import { InboxWriter } from './inbox-writer';
import { InboxRepository } from './inbox.repository';
import { KillBillWebhookReceiver } from './killbill-webhook.receiver';
import { NotificationHandler } from './notification-handler.service';

/** Kill Bill's push: the receiver, its inbox and the processor that acts on each notification once. */
@Module({
  imports: [BillingProviderModule, EntitlementsModule, KillBillModule, NotificationsModule, RecordsModule],
  providers: [InboxRepository, InboxWriter, NotificationHandler, InboxProcessor, KillBillWebhookReceiver],
  exports: [InboxRepository, InboxProcessor],
})
export class WebhooksModule {}
