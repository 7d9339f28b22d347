import type { TenantPlan } from '@app/contracts';
import { ConflictError } from '@app/http';

/**
 * What a plan sells: how many live instances, and the CPU, memory and storage each may have at most. The one
 * table of plan ceilings, used by tenant-service (instance quota), instance-service (create/update checks,
 * PLAN_LIMIT_EXCEEDED) and billing-service (a billing plan's entitlements are its ceilings).
 */
export interface PlanCeiling {
  /** Live (not terminated) instances. For a billing plan: the instances one subscription covers. */
  max_instances: number;
  /** CPUs per instance. */
  cpu_limit: number;
  /** Memory per instance, `<int>M` or `<int>G`. */
  memory_limit: string;
  /** Storage per instance (volume + database), `<int>M` or `<int>G`. */
  storage_limit: string;
}

/** Tenant plans: the workspace's quota and per-instance ceilings. */
export const TENANT_PLAN_CEILINGS: Readonly<Record<TenantPlan, PlanCeiling>> = {
  starter: { max_instances: 1, cpu_limit: 1, memory_limit: '2G', storage_limit: '10G' },
  basic: { max_instances: 3, cpu_limit: 2, memory_limit: '4G', storage_limit: '20G' },
  professional: { max_instances: 10, cpu_limit: 4, memory_limit: '8G', storage_limit: '50G' },
  enterprise: { max_instances: 50, cpu_limit: 8, memory_limit: '16G', storage_limit: '100G' },
};

/** The plans of infrastructure/killbill/catalog.xml. */
export const BILLING_PLANS = [
  'basic-immediate',
  'basic-monthly',
  'basic-test-trial',
  'standard-monthly',
  'premium-monthly',
] as const;
export type BillingPlan = (typeof BILLING_PLANS)[number];

/**
 * Billing plans (one subscription per instance): the instance's entitlements. They are applied to the instance
 * when it is created with the plan and whenever billing syncs it (a downgrade lowers a running instance).
 */
export const BILLING_PLAN_CEILINGS: Readonly<Record<BillingPlan, PlanCeiling>> = {
  'basic-immediate': { max_instances: 1, cpu_limit: 1, memory_limit: '2G', storage_limit: '10G' },
  'basic-monthly': { max_instances: 1, cpu_limit: 1, memory_limit: '2G', storage_limit: '10G' },
  'basic-test-trial': { max_instances: 1, cpu_limit: 1, memory_limit: '2G', storage_limit: '10G' },
  'standard-monthly': { max_instances: 1, cpu_limit: 2, memory_limit: '4G', storage_limit: '20G' },
  'premium-monthly': { max_instances: 1, cpu_limit: 4, memory_limit: '8G', storage_limit: '50G' },
};

export function isBillingPlan(name: string): name is BillingPlan {
  return (BILLING_PLANS as readonly string[]).includes(name);
}

/** Instance quota per tenant plan (the plan's `max_instances`). */
export const PLAN_INSTANCE_LIMITS: Readonly<Record<TenantPlan, number>> = Object.fromEntries(
  Object.entries(TENANT_PLAN_CEILINGS).map(([plan, ceiling]) => [plan, ceiling.max_instances]),
) as Record<TenantPlan, number>;

const MIB_PER_GIB = 1024;

/** MiB of a `<int>M` / `<int>G` size. */
export function sizeInMiB(size: string): number {
  const amount = Number(size.slice(0, -1));
  return size.toUpperCase().endsWith('G') ? amount * MIB_PER_GIB : amount;
}

/** Bytes of a `<int>M` / `<int>G` size. */
export function sizeInBytes(size: string): number {
  return sizeInMiB(size) * 1024 * 1024;
}

export interface InstanceResources {
  cpu_limit: number;
  memory_limit: string;
  storage_limit: string;
}

/** The tighter of two ceilings, field by field (a tenant plan and the billing plan of one instance). */
export function tighterCeiling(a: PlanCeiling, b: PlanCeiling): PlanCeiling {
  return {
    max_instances: Math.min(a.max_instances, b.max_instances),
    cpu_limit: Math.min(a.cpu_limit, b.cpu_limit),
    memory_limit: sizeInMiB(a.memory_limit) <= sizeInMiB(b.memory_limit) ? a.memory_limit : b.memory_limit,
    storage_limit:
      sizeInMiB(a.storage_limit) <= sizeInMiB(b.storage_limit) ? a.storage_limit : b.storage_limit,
  };
}

/** The fields of `resources` above `ceiling` (empty when within). */
export function fieldsAboveCeiling(
  resources: InstanceResources,
  ceiling: PlanCeiling,
): (keyof InstanceResources)[] {
  const above: (keyof InstanceResources)[] = [];
  if (resources.cpu_limit > ceiling.cpu_limit) above.push('cpu_limit');
  if (sizeInMiB(resources.memory_limit) > sizeInMiB(ceiling.memory_limit)) above.push('memory_limit');
  if (sizeInMiB(resources.storage_limit) > sizeInMiB(ceiling.storage_limit)) above.push('storage_limit');
  return above;
}

/** `resources` lowered to `ceiling` where above it (what a downgrade leaves a running instance). */
export function clampToCeiling(resources: InstanceResources, ceiling: PlanCeiling): InstanceResources {
  const above = fieldsAboveCeiling(resources, ceiling);
  return {
    cpu_limit: above.includes('cpu_limit') ? ceiling.cpu_limit : resources.cpu_limit,
    memory_limit: above.includes('memory_limit') ? ceiling.memory_limit : resources.memory_limit,
    storage_limit: above.includes('storage_limit') ? ceiling.storage_limit : resources.storage_limit,
  };
}

/** 409 PLAN_LIMIT_EXCEEDED: `details[0]` names the plan, the fields above it and the ceiling. */
export class PlanLimitExceededError extends ConflictError {
  constructor(plan: string, ceiling: PlanCeiling, fields: readonly string[]) {
    super(
      'PLAN_LIMIT_EXCEEDED',
      fields.includes('max_instances')
        ? `The plan "${plan}" allows ${ceiling.max_instances} instances`
        : `${fields.join(', ')} above what the plan "${plan}" allows (cpu ${ceiling.cpu_limit}, memory ${ceiling.memory_limit}, storage ${ceiling.storage_limit})`,
      [{ plan, fields: [...fields], ceiling: { ...ceiling } }],
    );
  }
}

/** Throws PlanLimitExceededError when any of `resources` is above `ceiling`. */
export function assertWithinCeiling(plan: string, resources: InstanceResources, ceiling: PlanCeiling): void {
  const above = fieldsAboveCeiling(resources, ceiling);
  if (above.length > 0) throw new PlanLimitExceededError(plan, ceiling, above);
}

/**
 * How many backups a plan keeps: scheduled ones by grandfather-father-son (the newest of each of the last
 * `daily` days, `weekly` ISO weeks and `monthly` months that have one). Manual backups are kept apart, the
 * newest MANUAL_BACKUPS_KEEP (worker setting).
 */
export interface BackupRetentionPolicy {
  daily: number;
  weekly: number;
  monthly: number;
}

export const DEFAULT_BACKUP_RETENTION: Readonly<BackupRetentionPolicy> = {
  daily: 7,
  weekly: 4,
  monthly: 3,
};

/** Plans that keep more than the default (billing plan names; others get the default). */
export const PLAN_BACKUP_RETENTION: Readonly<Partial<Record<BillingPlan, BackupRetentionPolicy>>> = {
  'premium-monthly': { daily: 14, weekly: 8, monthly: 12 },
};

export function backupRetentionFor(planName: string | null): BackupRetentionPolicy {
  return (planName && isBillingPlan(planName) && PLAN_BACKUP_RETENTION[planName]) || DEFAULT_BACKUP_RETENTION;
}
