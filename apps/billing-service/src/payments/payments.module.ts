import { Module } from '@nestjs/common';
import { APP_CONFIG } from '@app/config';
import { AccessModule } from '../access/access.module';
import { CommonModule } from '../common/common.module';
import type { Config } from '../config/env';
import { EntitlementsModule } from '../entitlements/entitlements.module';
import { KillBillModule } from '../killbill/killbill.module';
import { NotificationsModule } from '../notifications/notifications.module';
import { NonePaymentGateway } from './none.gateway';
import { PaymentConfirmation } from './payment-confirmation.service';
import { PaymentGateway } from './payment-gateway';
import { PaymentMail } from './payment-mail';
import { PaymentMetrics } from './payment-metrics';
import { PaymentPoller } from './payment-poller.service';
import { AdminPaymentsController, PaymentsController } from './payments.controller';
import { PaymentsRepository } from './payments.repository';
import { PaymentsService } from './payments.service';
import { PaynowClient } from './paynow/paynow.client';
import { PaynowGateway } from './paynow/paynow.gateway';
import { PaynowResultReceiver } from './paynow-result.receiver';
import { ResultInboxProcessor } from './result-inbox.processor';
import { ResultInboxRepository } from './result-inbox.repository';
import { ResultInboxWriter } from './result-inbox.writer';
import { SettlementOutbox } from './settlement-outbox.service';
import { SettlementsRepository } from './settlements.repository';

/** The gateway is picked here, once, from PAYMENT_GATEWAY; nothing else asks which one runs. */
function paymentGateway(config: Config): PaymentGateway {
  if (config.PAYMENT_GATEWAY === 'none') return new NonePaymentGateway();
  const client = new PaynowClient({
    url: config.PAYNOW_URL,
    integrationId: config.PAYNOW_INTEGRATION_ID ?? '',
    integrationKey: config.PAYNOW_INTEGRATION_KEY ?? '',
    resultUrl: config.PAYNOW_RESULT_URL,
    returnUrl: config.PAYNOW_RETURN_URL,
    timeoutMs: config.PAYNOW_TIMEOUT_MS,
  });
  return new PaynowGateway(client, {
    testMode: config.PAYNOW_TEST_MODE,
    merchantEmail: config.PAYNOW_MERCHANT_EMAIL ?? '',
  });
}

/**
 * Payments: starting them at the gateway, the result endpoint and its inbox, confirmation by polling, the
 * background poller, and the outbox that records paid payments in Kill Bill exactly once.
 */
@Module({
  imports: [AccessModule, CommonModule, EntitlementsModule, KillBillModule, NotificationsModule],
  controllers: [PaymentsController, AdminPaymentsController],
  providers: [
    { provide: PaymentGateway, inject: [APP_CONFIG], useFactory: paymentGateway },
    PaymentsRepository,
    SettlementsRepository,
    ResultInboxRepository,
    ResultInboxWriter,
    PaymentMetrics,
    PaymentMail,
    SettlementOutbox,
    PaymentConfirmation,
    ResultInboxProcessor,
    PaynowResultReceiver,
    PaymentPoller,
    PaymentsService,
  ],
})
export class PaymentsModule {}
