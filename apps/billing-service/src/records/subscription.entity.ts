import { Column, Entity, PrimaryColumn } from 'typeorm';

export const ENTITLEMENTS = ['pending', 'running', 'suspended', 'terminated'] as const;
/** What billing allows for the instance: nothing yet, run it, suspend it, terminate it. */
export type Entitlement = (typeof ENTITLEMENTS)[number];

export type BillingProviderName = 'killbill' | 'none';

/**
 * The platform's view of one subscription (one per instance). Kill Bill is the source of truth; these
 * columns are the last state read from it, kept so lists and summaries do not depend on Kill Bill being up.
 */
@Entity({ name: 'subscriptions' })
export class SubscriptionEntity {
  /** The Kill Bill subscription id (a generated id under the `none` billing provider). */
  @PrimaryColumn({ type: 'uuid' })
  id: string;

  @Column({ name: 'instance_id', type: 'uuid' })
  instanceId: string;

  @Column({ name: 'tenant_id', type: 'uuid' })
  tenantId: string;

  @Column({ name: 'created_by', type: 'uuid', nullable: true })
  createdBy: string | null;

  @Column({ type: 'varchar', length: 16 })
  provider: BillingProviderName;

  @Column({ name: 'kb_account_id', type: 'uuid', nullable: true })
  kbAccountId: string | null;

  @Column({ name: 'kb_bundle_id', type: 'uuid', nullable: true })
  kbBundleId: string | null;

  @Column({ name: 'plan_name', type: 'varchar', length: 100 })
  planName: string;

  @Column({ name: 'pending_plan_name', type: 'varchar', length: 100, nullable: true })
  pendingPlanName: string | null;

  @Column({ name: 'phase_type', type: 'varchar', length: 16, nullable: true })
  phaseType: string | null;

  @Column({ name: 'kb_state', type: 'varchar', length: 16 })
  kbState: string;

  @Column({ name: 'trial_ends_at', type: 'timestamptz', nullable: true })
  trialEndsAt: Date | null;

  @Column({ name: 'charged_through_date', type: 'date', nullable: true })
  chargedThroughDate: string | null;

  @Column({ name: 'cancel_effective_at', type: 'timestamptz', nullable: true })
  cancelEffectiveAt: Date | null;

  @Column({ type: 'varchar', length: 16 })
  entitlement: Entitlement;

  /** `payment_required`: a plan without trial waits for its first invoice to be paid (pay first). */
  @Column({ name: 'billing_status', type: 'varchar', length: 32, nullable: true })
  billingStatus: string | null;

  @Column({ name: 'entitlement_version', type: 'integer' })
  entitlementVersion: number;

  @Column({ name: 'entitlement_changed_at', type: 'timestamptz', nullable: true })
  entitlementChangedAt: Date | null;

  @Column({ name: 'synced_at', type: 'timestamptz', nullable: true })
  syncedAt: Date | null;

  @Column({ name: 'created_at', type: 'timestamptz' })
  createdAt: Date;

  @Column({ name: 'updated_at', type: 'timestamptz' })
  updatedAt: Date;
}
