import { Injectable } from '@nestjs/common';
import { DOMAIN_EVENTS } from '@app/contracts';
import { DomainEventPublisher } from '@app/redis';

/**
 * billing-service's domain events (hints for the portal's live view): `subscription.changed` when a
 * subscription's entitlement or billing status changes, `payment.changed` when a payment is created or
 * changes status. Published after the change is committed; never fails the operation.
 */
@Injectable()
export class BillingEvents {
  constructor(private readonly events: DomainEventPublisher) {}

  subscriptionChanged(row: { id: string; tenantId: string }, state: string): void {
    this.events.publish(DOMAIN_EVENTS.subscriptionChanged, {
      tenant_id: row.tenantId,
      subscription_id: row.id,
      state,
    });
  }

  paymentChanged(row: { id: string; tenantId: string; status: string }): void {
    this.events.publish(DOMAIN_EVENTS.paymentChanged, {
      payment_id: row.id,
      tenant_id: row.tenantId,
      status: row.status,
    });
  }
}
