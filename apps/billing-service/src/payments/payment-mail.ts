import { Inject, Injectable } from '@nestjs/common';
import { EntityManager } from 'typeorm';
import { APP_CONFIG } from '@app/config';
import type { Config } from '../config/env';
import { MailOutboxRepository } from '../notifications/mail-outbox.repository';
import type { PaymentRow } from './payments.repository';

/** A receipt when a payment is paid; a notice when it fails or is cancelled. Queued with the status change. */
@Injectable()
export class PaymentMail {
  constructor(
    @Inject(APP_CONFIG) private readonly config: Config,
    private readonly outbox: MailOutboxRepository,
  ) {}

  async queue(manager: EntityManager, payment: PaymentRow): Promise<boolean> {
    const base = {
      payment_id: payment.id,
      invoice_id: payment.invoiceId,
      amount: payment.amount.toFixed(2),
      currency: payment.currency,
    };
    if (payment.status === 'paid') {
      return this.outbox.enqueue(
        {
          dedupeKey: `payment_receipt:${payment.id}`,
          template: 'billing_payment_receipt',
          tenantId: payment.tenantId,
          customerId: payment.createdBy,
          vars: {
            ...base,
            method: payment.method,
            gateway_reference: payment.gatewayReference ?? payment.id,
          },
        },
        manager,
      );
    }
    if (payment.status === 'failed' || payment.status === 'cancelled') {
      return this.outbox.enqueue(
        {
          dedupeKey: `payment_not_completed:${payment.id}`,
          template: 'billing_payment_not_completed',
          tenantId: payment.tenantId,
          customerId: payment.createdBy,
          vars: { ...base, outcome: payment.status, billing_url: `${this.config.PORTAL_URL}/payments` },
        },
        manager,
      );
    }
    return false;
  }
}
