import type { TenantPlan } from '@app/contracts';

/** Instance quota per tenant plan, as in the original tenant-service. */
export const PLAN_INSTANCE_LIMITS: Record<TenantPlan, number> = {
  starter: 1,
  basic: 3,
  professional: 10,
  enterprise: 50,
};
