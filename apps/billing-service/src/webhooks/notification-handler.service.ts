import { Injectable } from '@nestjs/common';
import { BillingAccountsRepository } from '../records/billing-accounts.repository';
import { isUuid } from '../common/ids';
import { LruCache } from '../common/lru-cache';
import { BillingProvider } from '../billing-provider/billing-provider';
import { EntitlementSyncService } from '../entitlements/entitlement-sync.service';
import { KillBillClient } from '../killbill/killbill.client';
import { KillBillNotFoundError } from '../killbill/killbill.errors';
import type { KbInvoice } from '../killbill/killbill.types';
import { BillingMailDispatcher } from '../notifications/billing-mail.dispatcher';
import { BillingMailService } from '../notifications/billing-mail.service';
import type { InboxRow } from './inbox.repository';
import { KillBillNotification, parseNotification } from './killbill-notification';

export interface HandlingOutcome {
  status: 'processed' | 'ignored';
  outcome: string;
}

/** Events whose only effect is on entitlements: the account they concern is re-read and re-applied. */
const ENTITLEMENT_EVENTS = new Set([
  'SUBSCRIPTION_CREATION',
  'SUBSCRIPTION_PHASE',
  'SUBSCRIPTION_CHANGE',
  'SUBSCRIPTION_CANCEL',
  'SUBSCRIPTION_UNCANCEL',
  'SUBSCRIPTION_EXPIRED',
  'ENTITLEMENT_CREATION',
  'ENTITLEMENT_CANCEL',
  'BUNDLE_PAUSE',
  'BUNDLE_RESUME',
  'BLOCKING_STATE',
  'OVERDUE_CHANGE',
  'INVOICE_PAYMENT_SUCCESS',
  'INVOICE_ADJUSTMENT',
]);

/**
 * Turns one stored notification into actions. The body is never trusted: only its object id is used, to
 * find what to re-read from Kill Bill (an id Kill Bill does not know is ignored, so a forged notification
 * can at worst trigger a re-read of a real account). Entitlements come from Kill Bill's current state;
 * invoice and payment-failure mail come from the re-read invoice.
 */
@Injectable()
export class NotificationHandler {
  /** Which account owns a subscription, bundle or invoice never changes: read once from Kill Bill. */
  private readonly owners = new LruCache<string, string>(10_000);

  constructor(
    private readonly provider: BillingProvider,
    private readonly killbill: KillBillClient,
    private readonly sync: EntitlementSyncService,
    private readonly accounts: BillingAccountsRepository,
    private readonly mail: BillingMailService,
    private readonly dispatcher: BillingMailDispatcher,
  ) {}

  async handle(row: InboxRow): Promise<HandlingOutcome> {
    const notification = parseNotification(row.body);
    if (!notification) return { status: 'ignored', outcome: 'not_a_notification' };
    if (!this.provider.reconciles) return { status: 'ignored', outcome: 'billing_disabled' };
    const { eventType } = notification;
    try {
      if (eventType === 'INVOICE_CREATION' || eventType === 'INVOICE_PAYMENT_FAILED') {
        return await this.invoiceEvent(notification, row.bodySha256);
      }
      if (!ENTITLEMENT_EVENTS.has(eventType)) return { status: 'ignored', outcome: `no_action:${eventType}` };
      const accountId = await this.accountOf(notification);
      if (!accountId) return { status: 'ignored', outcome: 'unknown_object' };
      const result = await this.sync.syncAccount(accountId, eventType);
      return { status: 'processed', outcome: result.skipped ? 'not_ours' : `synced:${eventType}` };
    } catch (error) {
      // The object does not exist in Kill Bill: forged, or deleted since. Nothing to retry.
      if (error instanceof KillBillNotFoundError) return { status: 'ignored', outcome: 'unknown_object' };
      throw error;
    }
  }

  private async invoiceEvent(notification: KillBillNotification, key: string): Promise<HandlingOutcome> {
    if (notification.objectType !== 'INVOICE' || !isUuid(notification.objectId)) {
      return { status: 'ignored', outcome: 'unknown_object' };
    }
    const invoice = await this.killbill.getInvoice(notification.objectId);
    const sync = await this.sync.syncAccount(invoice.accountId, notification.eventType);
    if (!sync.tenant_id) return { status: 'processed', outcome: 'not_ours' };
    const queued = await this.queueInvoiceMail(notification.eventType, invoice, sync.tenant_id, key);
    if (queued) this.dispatcher.kick();
    return {
      status: 'processed',
      outcome: `${notification.eventType.toLowerCase()}${queued ? ':mail' : ''}`,
    };
  }

  private async queueInvoiceMail(
    eventType: string,
    invoice: KbInvoice,
    tenantId: string,
    key: string,
  ): Promise<boolean> {
    const contact = (await this.accounts.findByTenant(tenantId))?.contactCustomerId ?? null;
    return eventType === 'INVOICE_CREATION'
      ? this.mail.invoiceCreated(invoice, tenantId, contact)
      : this.mail.paymentFailed(invoice, tenantId, contact, key.slice(0, 16));
  }

  /** The Kill Bill account a notification concerns, read from Kill Bill through the object's id. */
  private async accountOf(notification: KillBillNotification): Promise<string | null> {
    const id = notification.objectId;
    if (!isUuid(id)) return null;
    const key = `${notification.objectType}:${id}`;
    const known = this.owners.get(key);
    if (known) return known;
    const owner = await this.readOwner(notification.objectType, id);
    if (owner) this.owners.set(key, owner);
    return owner;
  }

  private async readOwner(objectType: string, id: string): Promise<string | null> {
    switch (objectType) {
      case 'ACCOUNT':
        return (await this.killbill.getAccount(id)).accountId;
      case 'SUBSCRIPTION':
        return (await this.killbill.getSubscription(id)).accountId;
      case 'BUNDLE':
        return (await this.killbill.getBundle(id)).accountId;
      case 'INVOICE':
        return (await this.killbill.getInvoice(id)).accountId;
      default:
        return null;
    }
  }
}
