import { ApiProperty } from '@nestjs/swagger';
import { InstanceLimits } from '@app/contracts';
import type { PlanCeiling } from '@app/tenancy';
import type { KbCatalog, KbCatalogPhase } from '../killbill/killbill.types';

export class PlanView {
  @ApiProperty({ example: 'starter-monthly' })
  name: string;
  @ApiProperty({ type: 'string', nullable: true, example: 'Starter' })
  product: string | null;
  @ApiProperty({ type: 'string', nullable: true, example: 'MONTHLY' })
  billing_period: string | null;
  @ApiProperty({ type: 'number', nullable: true, example: 5 })
  price: number | null;
  @ApiProperty({ type: 'string', nullable: true, example: 'USD' })
  currency: string | null;
  @ApiProperty({ type: 'integer', description: '0: no trial' })
  trial_length: number;
  @ApiProperty({ type: 'string', nullable: true, example: 'DAYS' })
  trial_time_unit: string | null;
  @ApiProperty({ type: InstanceLimits, nullable: true })
  entitlements: InstanceLimits | null;
}

export class PlanList {
  @ApiProperty({ type: [PlanView] })
  plans: PlanView[];
  @ApiProperty({ type: 'integer' })
  total: number;
}

/** A billing plan's per-instance entitlements: its ceilings (@app/tenancy BILLING_PLAN_CEILINGS). */
export function limitsOf(ceiling: PlanCeiling): InstanceLimits {
  return {
    cpu_limit: ceiling.cpu_limit,
    memory_limit: ceiling.memory_limit,
    storage_limit: ceiling.storage_limit,
  };
}

function priceIn(phase: KbCatalogPhase | undefined, currency: string): number | null {
  const price = phase?.prices?.find((p) => p.currency === currency);
  return price?.value ?? null;
}

/** The plans of the newest catalog version (Kill Bill lists versions oldest first), trial first then by price. */
export function plansFromCatalog(
  versions: KbCatalog[],
  entitlements: Map<string, InstanceLimits>,
  currency: string,
): PlanView[] {
  const latest = versions[versions.length - 1];
  if (!latest) return [];
  const plans: PlanView[] = [];
  for (const product of latest.products) {
    for (const plan of product.plans) {
      const trial = plan.phases.find((p) => p.type === 'TRIAL');
      const evergreen =
        plan.phases.find((p) => p.type === 'EVERGREEN') ?? plan.phases[plan.phases.length - 1];
      plans.push({
        name: plan.name,
        product: product.name,
        billing_period: plan.billingPeriod ?? null,
        price: priceIn(evergreen, currency),
        currency,
        trial_length: trial?.duration?.number && trial.duration.number > 0 ? trial.duration.number : 0,
        trial_time_unit: trial?.duration?.unit ?? null,
        entitlements: entitlements.get(plan.name) ?? null,
      });
    }
  }
  return plans.sort(
    (a, b) =>
      Number(b.trial_length > 0) - Number(a.trial_length > 0) ||
      (a.price ?? 0) - (b.price ?? 0) ||
      a.name.localeCompare(b.name),
  );
}

/** Without a billing provider the plans are the entitlement table: no price, no trial. */
export function plansFromEntitlements(rows: { planName: string; ceiling: PlanCeiling }[]): PlanView[] {
  return rows
    .map((row) => ({
      name: row.planName,
      product: null,
      billing_period: null,
      price: null,
      currency: null,
      trial_length: 0,
      trial_time_unit: null,
      entitlements: limitsOf(row.ceiling),
    }))
    .sort((a, b) => a.entitlements.cpu_limit - b.entitlements.cpu_limit || a.name.localeCompare(b.name));
}
