import { Controller, Get, Param } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import { InternalOnly } from '@app/auth';
import { InstanceLimits } from '@app/contracts';
import { PlansService } from './plans.service';

@ApiTags('plans')
@Controller('api/billing/plans')
export class PlansController {
  constructor(private readonly plans: PlansService) {}

  /** Public: the price list shown before signing up. */
  @Get()
  @ApiOperation({ summary: 'Plans on sale, with trial length, price and entitlements' })
  async list() {
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
  entitlements(@Param('plan_name') planName: string): Promise<InstanceLimits> {
    return this.plans.entitlementsFor(planName);
  }
}
