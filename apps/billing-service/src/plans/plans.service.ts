import { HttpStatus, Inject, Injectable } from '@nestjs/common';
import { APP_CONFIG } from '@app/config';
import { InstanceLimits } from '@app/contracts';
import { DomainError, NotFoundError } from '@app/http';
import { BILLING_PLAN_CEILINGS, BILLING_PLANS, isBillingPlan } from '@app/tenancy';
import type { Config } from '../config/env';
import { BillingProvider } from '../billing-provider/billing-provider';
import { limitsOf, plansFromCatalog, plansFromEntitlements, PlanView } from './plan.views';

const ENTITLEMENT_ROWS = BILLING_PLANS.map((planName) => ({
  planName,
  ceiling: BILLING_PLAN_CEILINGS[planName],
}));

export class UnknownPlanError extends DomainError {
  constructor(planName: string) {
    super(HttpStatus.BAD_REQUEST, 'UNKNOWN_PLAN', `Plan "${planName}" does not exist or is not sold`, [
      { field: 'plan_name', problems: ['unknown plan'] },
    ]);
  }
}

/**
 * The plans on sale: the billing provider's catalog (trial, price) joined with the plan ceilings of @app/tenancy;
 * without a catalog (the `none` provider), the plans of @app/tenancy.
 */
@Injectable()
export class PlansService {
  constructor(
    @Inject(APP_CONFIG) private readonly config: Config,
    private readonly provider: BillingProvider,
  ) {}

  async list(): Promise<PlanView[]> {
    const versions = await this.provider.catalog();
    if (!versions) return plansFromEntitlements(ENTITLEMENT_ROWS);
    const limits = new Map(ENTITLEMENT_ROWS.map((row) => [row.planName, limitsOf(row.ceiling)]));
    return plansFromCatalog(versions, limits, this.config.KILLBILL_CURRENCY);
  }

  /** A plan that can be subscribed to: in the catalog and with entitlements. */
  async require(planName: string): Promise<PlanView> {
    const plan = (await this.list()).find((p) => p.name === planName);
    if (!plan?.entitlements) throw new UnknownPlanError(planName);
    return plan;
  }

  entitlementsFor(planName: string): Promise<InstanceLimits> {
    if (!isBillingPlan(planName)) {
      return Promise.reject(new NotFoundError(`Plan ${planName}`, 'UNKNOWN_PLAN'));
    }
    return Promise.resolve(limitsOf(BILLING_PLAN_CEILINGS[planName]));
  }
}
