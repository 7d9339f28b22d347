import { ApiProperty } from '@nestjs/swagger';
import { SubscriptionSummary } from '@app/contracts';
import { SubscriptionEntity } from '../records/subscription.entity';

export class SubscriptionView {
  @ApiProperty({ format: 'uuid' })
  id: string;
  @ApiProperty({ format: 'uuid' })
  instance_id: string;
  @ApiProperty({ format: 'uuid' })
  tenant_id: string;
  @ApiProperty({ example: 'starter-monthly' })
  plan_name: string;
  @ApiProperty({ type: 'string', nullable: true, description: 'Plan taking over at the end of the term' })
  pending_plan_name: string | null;
  @ApiProperty({ type: 'string', nullable: true, example: 'TRIAL' })
  phase: string | null;
  @ApiProperty({ example: 'ACTIVE', description: 'Kill Bill state (ACTIVE, BLOCKED, CANCELLED, …)' })
  state: string;
  @ApiProperty({ example: 'active', description: 'Entitlement state (active, suspended, terminated, …)' })
  entitlement: string;
  @ApiProperty({ description: 'Whether the instance may run' })
  entitled: boolean;
  @ApiProperty({
    type: 'string',
    nullable: true,
    enum: ['payment_required'],
    description: 'payment_required: a plan without a trial waits for its first invoice to be paid',
  })
  billing_status: string | null;
  @ApiProperty({ type: 'string', format: 'date-time', nullable: true })
  trial_ends_at: string | null;
  @ApiProperty({ type: 'string', nullable: true, example: '2026-01-31' })
  charged_through_date: string | null;
  @ApiProperty()
  cancel_requested: boolean;
  @ApiProperty({ type: 'string', format: 'date-time', nullable: true })
  cancels_at: string | null;
  @ApiProperty({ example: 'killbill', description: 'killbill, or none when billing is off' })
  provider: string;
  @ApiProperty({ format: 'date-time' })
  created_at: string;
  @ApiProperty({ format: 'date-time' })
  updated_at: string;
}

export class SubscriptionList {
  @ApiProperty({ type: [SubscriptionView] })
  subscriptions: SubscriptionView[];
  @ApiProperty({ type: 'integer' })
  total: number;
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
