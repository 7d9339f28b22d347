/**
 * Domain events published over Redis by @nestjs/microservices. They are hints for caches, emails and
 * live status: a consumer re-reads the state it needs, and nothing that must happen depends on one.
 */
export const DOMAIN_EVENTS = {
  instanceStatusChanged: 'instance.status_changed',
  tenantSuspended: 'tenant.suspended',
  tenantActivated: 'tenant.activated',
  subscriptionChanged: 'subscription.changed',
  userDeactivated: 'user.deactivated',
} as const;
export type DomainEventName = (typeof DOMAIN_EVENTS)[keyof typeof DOMAIN_EVENTS];
