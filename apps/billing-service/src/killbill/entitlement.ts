import type { KbOverdueState, KbSubscription } from './killbill.types';
import type { Entitlement } from '../records/subscription.entity';
import type { SubscriptionSnapshot } from '../records/subscriptions.repository';

/**
 * What billing allows for the instance, from Kill Bill's current state alone (so the order, duplication or
 * loss of notifications does not matter):
 * - cancelled or expired (the cancellation is EFFECTIVE) → terminated;
 * - blocked (an overdue state that disables entitlement, or a paused bundle) → suspended;
 * - active (trial or paid, including a cancellation still pending) → running;
 * - pending (starts in the future) → null: nothing to do yet.
 */
export function entitlementOf(
  subscription: Pick<KbSubscription, 'state'>,
  overdue: Pick<KbOverdueState, 'isDisableEntitlementAndChangesBlocked'> | null,
): Exclude<Entitlement, 'pending'> | null {
  switch (subscription.state) {
    case 'CANCELLED':
    case 'EXPIRED':
      return 'terminated';
    case 'PENDING':
      return null;
    case 'BLOCKED':
      return 'suspended';
    case 'ACTIVE':
      return overdue?.isDisableEntitlementAndChangesBlocked ? 'suspended' : 'running';
  }
}

function isoOrNull(value: string | null | undefined): Date | null {
  if (!value) return null;
  const ms = Date.parse(value);
  return Number.isNaN(ms) ? null : new Date(ms);
}

/**
 * The subscription as the platform shows it. Needs no clock (Kill Bill's test clock may be anywhere):
 * - trial end: while in TRIAL, the date of the PHASE event;
 * - pending plan: the latest CHANGE event names another plan than the current one;
 * - pending cancellation: cancelledDate (entitlement end) set while the state is not CANCELLED yet.
 */
export function snapshotOf(subscription: KbSubscription): SubscriptionSnapshot {
  const events = subscription.events ?? [];
  const trialEnd =
    subscription.phaseType === 'TRIAL'
      ? events.find((e) => e.eventType === 'PHASE' && e.effectiveDate)?.effectiveDate
      : undefined;
  const changes = events.filter((e) => e.eventType === 'CHANGE' && e.plan);
  const lastChange = changes[changes.length - 1];
  const cancelled = subscription.state === 'CANCELLED' || subscription.state === 'EXPIRED';
  return {
    planName: subscription.planName,
    pendingPlanName: lastChange?.plan && lastChange.plan !== subscription.planName ? lastChange.plan : null,
    phaseType: subscription.phaseType ?? null,
    kbState: subscription.state,
    trialEndsAt: isoOrNull(trialEnd),
    chargedThroughDate: subscription.chargedThroughDate ?? null,
    cancelEffectiveAt: isoOrNull(
      subscription.cancelledDate ?? (cancelled ? null : subscription.billingEndDate),
    ),
  };
}
