import { SubscriptionSummary } from '@app/contracts';
import { SubscriptionEntity } from './subscription.entity';

export interface SubscriptionView {
  id: string;
  instance_id: string;
  tenant_id: string;
  plan_name: string;
  pending_plan_name: string | null;
  phase: string | null;
  state: string;
  entitlement: string;
  entitled: boolean;
  billing_status: string | null;
  trial_ends_at: string | null;
  charged_through_date: string | null;
  cancel_requested: boolean;
  cancels_at: string | null;
  provider: string;
  created_at: string;
  updated_at: string;
}

/** Billing lets the instance run: the subscription is active and neither suspended nor terminated. */
export function isEntitled(row: SubscriptionEntity): boolean {
  return (
    row.kbState === 'ACTIVE' &&
    row.billingStatus !== 'payment_required' &&
    row.entitlement !== 'suspended' &&
    row.entitlement !== 'terminated'
  );
}

const iso = (value: Date | null) => (value ? value.toISOString() : null);

export function subscriptionView(row: SubscriptionEntity): SubscriptionView {
  const cancelled = row.kbState === 'CANCELLED' || row.kbState === 'EXPIRED';
  return {
    id: row.id,
    instance_id: row.instanceId,
    tenant_id: row.tenantId,
    plan_name: row.planName,
    pending_plan_name: row.pendingPlanName,
    phase: row.phaseType,
    state: row.kbState,
    entitlement: row.entitlement,
    entitled: isEntitled(row),
    billing_status: row.billingStatus,
    trial_ends_at: iso(row.trialEndsAt),
    charged_through_date: row.chargedThroughDate,
    cancel_requested: !cancelled && row.cancelEffectiveAt !== null,
    cancels_at: iso(row.cancelEffectiveAt),
    provider: row.provider,
    created_at: row.createdAt.toISOString(),
    updated_at: row.updatedAt.toISOString(),
  };
}

export function subscriptionSummary(row: SubscriptionEntity): SubscriptionSummary {
  return {
    subscription_id: row.id,
    instance_id: row.instanceId,
    plan_name: row.planName,
    phase: row.phaseType,
    state: row.kbState,
    trial_ends_at: iso(row.trialEndsAt),
    entitled: isEntitled(row),
  };
}
