/**
 * Domain events, published over Redis by @nestjs/microservices (ClientProxy.emit) and consumed with
 * @EventPattern. They are hints for caches, emails and live status: a consumer re-reads the state it needs,
 * and nothing that must happen depends on one arriving (Redis pub/sub has no delivery guarantee).
 * Every event names its tenant, so a consumer can authorise it for a customer without another lookup.
 */
import { z } from 'zod';
import { DESIRED_STATES, INSTANCE_STATUSES } from './instance-lifecycle';

export const DOMAIN_EVENTS = {
  instanceStatusChanged: 'instance.status_changed',
  tenantSuspended: 'tenant.suspended',
  tenantActivated: 'tenant.activated',
  subscriptionChanged: 'subscription.changed',
  paymentChanged: 'payment.changed',
} as const;
export type DomainEventName = (typeof DOMAIN_EVENTS)[keyof typeof DOMAIN_EVENTS];

const tenantEvent = z.object({ tenant_id: z.uuid(), reason: z.string().nullable() });

export const DOMAIN_EVENT_SCHEMAS = {
  'instance.status_changed': z.object({
    instance_id: z.uuid(),
    tenant_id: z.uuid(),
    status: z.enum(INSTANCE_STATUSES),
    desired_state: z.enum(DESIRED_STATES),
    at: z.iso.datetime({ offset: true }),
  }),
  'tenant.suspended': tenantEvent,
  'tenant.activated': tenantEvent,
  'subscription.changed': z.object({
    tenant_id: z.uuid(),
    subscription_id: z.uuid(),
    state: z.string().min(1).max(32),
  }),
  'payment.changed': z.object({
    payment_id: z.uuid(),
    tenant_id: z.uuid(),
    status: z.string().min(1).max(32),
  }),
} satisfies Record<DomainEventName, z.ZodType>;

export type DomainEventPayload<N extends DomainEventName> = z.infer<(typeof DOMAIN_EVENT_SCHEMAS)[N]>;
export const DOMAIN_EVENT_NAMES = Object.values(DOMAIN_EVENTS);
