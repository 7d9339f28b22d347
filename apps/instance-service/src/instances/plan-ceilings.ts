import type { TenantPlan } from '@app/contracts';
import {
  BILLING_PLAN_CEILINGS,
  isBillingPlan,
  TENANT_PLAN_CEILINGS,
  tighterCeiling,
  type PlanCeiling,
} from '@app/tenancy';

/** The ceilings an instance is held to: its tenant's plan, tightened by its billing plan when it has one. */
export function instanceCeiling(
  tenantPlan: TenantPlan,
  billingPlan: string | null,
): { plan: string; ceiling: PlanCeiling } {
  const tenantCeiling = TENANT_PLAN_CEILINGS[tenantPlan];
  if (!billingPlan || !isBillingPlan(billingPlan)) return { plan: tenantPlan, ceiling: tenantCeiling };
  return {
    plan: `${tenantPlan} / ${billingPlan}`,
    ceiling: tighterCeiling(tenantCeiling, BILLING_PLAN_CEILINGS[billingPlan]),
  };
}
