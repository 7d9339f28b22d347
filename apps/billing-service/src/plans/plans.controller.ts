import { Controller, Get, Param } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { ApiErrors } from '@app/http';
import { InternalOnly } from '@app/auth';
import { InstanceLimits } from '@app/contracts';
import { PlansService } from './plans.service';
import { PlanList } from './plan.views';

@ApiTags('plans')
@Controller('api/billing/plans')
export class PlansController {
  constructor(private readonly plans: PlansService) {}

  /** Public: the price list shown before signing up. */
  @Get()
  @ApiOperation({ summary: 'Plans on sale, with trial length, price and entitlements' })
  @ApiOkResponse({ type: PlanList })
  @ApiErrors({ 502: ['KILLBILL_ERROR'], 503: ['DEPENDENCY_UNAVAILABLE'] })
  async list(): Promise<PlanList> {
    const plans = await this.plans.list();
    return { plans, total: plans.length };
  }
}

@ApiTags('internal')
@Controller('internal/plans')
@InternalOnly()
export class InternalPlansController {
  constructor(private readonly plans: PlansService) {}

  @Get(':plan_name/entitlements')
  @ApiOperation({ summary: 'Resource limits of a plan (instance-service, at creation and plan change)' })
  @ApiOkResponse({ type: InstanceLimits })
  @ApiErrors({ 404: ['UNKNOWN_PLAN'] })
  entitlements(@Param('plan_name') planName: string): Promise<InstanceLimits> {
    return this.plans.entitlementsFor(planName);
  }
}
