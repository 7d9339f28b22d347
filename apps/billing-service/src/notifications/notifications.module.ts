import { Module } from '@nestjs/common';
import { IntegrationsModule } from '../integrations/integrations.module';
import { BillingMailDispatcher } from './billing-mail.dispatcher';
import { BillingMailService } from './billing-mail.service';
import { MailOutboxRepository } from './mail-outbox.repository';

/** Billing mails: written to the outbox in the caller's transaction, sent by the dispatcher. */
@Module({
  imports: [IntegrationsModule],
  providers: [MailOutboxRepository, BillingMailService, BillingMailDispatcher],
  exports: [MailOutboxRepository, BillingMailService, BillingMailDispatcher],
})
export class NotificationsModule {}
