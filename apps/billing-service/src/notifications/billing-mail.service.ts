import { Inject, Injectable } from '@nestjs/common';
import { EntityManager } from 'typeorm';
import { APP_CONFIG } from '@app/config';
import type { Config } from '../config/env';
import type { KbInvoice } from '../killbill/killbill.types';
import type { EntitlementTransition } from '../records/subscriptions.repository';
import { MailOutboxRepository } from './mail-outbox.repository';

function money(value: number | null | undefined): string {
  return (value ?? 0).toFixed(2);
}

/** Decides which billing mail an event deserves and queues it (the dispatcher sends it). */
@Injectable()
export class BillingMailService {
  constructor(
    @Inject(APP_CONFIG) private readonly config: Config,
    private readonly outbox: MailOutboxRepository,
  ) {}

  private get billingUrl(): string {
    return `${this.config.PORTAL_URL}/payments`;
  }

  /** Suspension, resumption after a suspension, termination. Nothing for the first start. */
  async entitlementChanged(
    manager: EntityManager,
    subscription: { id: string; instanceId: string; tenantId: string },
    contact: string | null,
    transition: EntitlementTransition,
    reason: string,
  ): Promise<void> {
    const base = {
      dedupeKey: `entitlement:${subscription.id}:v${transition.version}`,
      tenantId: subscription.tenantId,
      customerId: contact,
    };
    if (transition.to === 'suspended') {
      await this.outbox.enqueue(
        {
          ...base,
          template: 'billing_instance_suspended',
          vars: { instance_id: subscription.instanceId, reason, billing_url: this.billingUrl },
        },
        manager,
      );
    } else if (transition.to === 'terminated') {
      await this.outbox.enqueue(
        {
          ...base,
          template: 'billing_instance_terminated',
          vars: { instance_id: subscription.instanceId, billing_url: this.billingUrl },
        },
        manager,
      );
    } else if (transition.to === 'running' && transition.from === 'suspended') {
      await this.outbox.enqueue(
        { ...base, template: 'billing_instance_resumed', vars: { instance_id: subscription.instanceId } },
        manager,
      );
    }
  }

  /** A new invoice with something to pay ($0 trial invoices send nothing). One mail per invoice. */
  async invoiceCreated(invoice: KbInvoice, tenantId: string, contact: string | null): Promise<boolean> {
    if ((invoice.amount ?? 0) <= 0) return false;
    return this.outbox.enqueue({
      dedupeKey: `invoice_created:${invoice.invoiceId}`,
      template: 'billing_invoice_created',
      tenantId,
      customerId: contact,
      vars: {
        invoice_number: String(invoice.invoiceNumber ?? invoice.invoiceId),
        amount: money(invoice.amount),
        balance: money(invoice.balance),
        currency: invoice.currency ?? this.config.KILLBILL_CURRENCY,
        invoice_date: invoice.invoiceDate ?? '',
        billing_url: this.billingUrl,
      },
    });
  }

  /** One mail per failed payment notification, while the invoice is still unpaid. */
  async paymentFailed(
    invoice: KbInvoice,
    tenantId: string,
    contact: string | null,
    notificationKey: string,
  ): Promise<boolean> {
    if ((invoice.balance ?? 0) <= 0) return false;
    return this.outbox.enqueue({
      dedupeKey: `payment_failed:${invoice.invoiceId}:${notificationKey}`,
      template: 'billing_payment_failed',
      tenantId,
      customerId: contact,
      vars: {
        invoice_number: String(invoice.invoiceNumber ?? invoice.invoiceId),
        balance: money(invoice.balance),
        currency: invoice.currency ?? this.config.KILLBILL_CURRENCY,
        billing_url: this.billingUrl,
      },
    });
  }
}
