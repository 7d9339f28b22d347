import { HttpStatus, Inject, Injectable } from '@nestjs/common';
import { APP_CONFIG } from '@app/config';
import { InstanceLimits } from '@app/contracts';
import { DomainError, NotFoundError } from '@app/http';
import { BILLING_PLAN_CEILINGS, BILLING_PLANS, isBillingPlan } from '@app/tenancy';
import type { Config } from '../config/env';
import { KillBillClient } from '../killbill/killbill.client';
import type { KbCatalog } from '../killbill/killbill.types';
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

const CATALOG_TTL_MS = 60_000;

/** The plans on sale: Kill Bill's catalog (trial, price) joined with the plan ceilings of @app/tenancy. */
@Injectable()
export class PlansService {
  private catalog: { versions: KbCatalog[]; at: number } | null = null;

  constructor(
    @Inject(APP_CONFIG) private readonly config: Config,
    private readonly killbill: KillBillClient,
  ) {}

  async list(): Promise<PlanView[]> {
    if (this.config.BILLING_PROVIDER === 'none') return plansFromEntitlements(ENTITLEMENT_ROWS);
    const limits = new Map(ENTITLEMENT_ROWS.map((row) => [row.planName, limitsOf(row.ceiling)]));
    return plansFromCatalog(await this.catalogVersions(), limits, this.config.KILLBILL_CURRENCY);
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

  /** Forget the cached catalog (after an upload). */
  invalidate(): void {
    this.catalog = null;
  }

  private async catalogVersions(): Promise<KbCatalog[]> {
    const now = Date.now();
    if (this.catalog && now - this.catalog.at < CATALOG_TTL_MS) return this.catalog.versions;
    const versions = await this.killbill.getCatalog();
    this.catalog = { versions, at: now };
    return versions;
  }
}
