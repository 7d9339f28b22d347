import {
  Body,
  Controller,
  Delete,
  Get,
  HttpCode,
  Param,
  ParseUUIDPipe,
  Post,
  Put,
  Query,
  Res,
} from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { Authenticated, CurrentUser, InternalOnly } from '@app/auth';
import type { AuthenticatedUser } from '@app/auth';
import { CustomerSubscriptionSummary, SubscriptionSummary } from '@app/contracts';
import {
  CreateSubscriptionDto,
  InternalCreateSubscriptionDto,
  PlanNameDto,
  TenantFilterDto,
} from './subscriptions.dto';
import { subscriptionSummary } from './subscription.views';
import { SubscriptionsService } from './subscriptions.service';

@ApiTags('billing')
@Controller('api/billing/subscriptions')
@Authenticated()
export class SubscriptionsController {
  constructor(private readonly subscriptions: SubscriptionsService) {}

  @Get()
  @ApiOperation({ summary: 'Subscriptions of the tenants I belong to' })
  async list(@CurrentUser() user: AuthenticatedUser, @Query() query: TenantFilterDto) {
    const subscriptions = await this.subscriptions.list(user, query.tenant_id);
    return { subscriptions, total: subscriptions.length };
  }

  @Post()
  @ApiOperation({ summary: 'Subscribe an existing instance to a plan' })
  create(@CurrentUser() user: AuthenticatedUser, @Body() body: CreateSubscriptionDto) {
    return this.subscriptions.createForCustomer(user, {
      instanceId: body.instance_id,
      planName: body.plan_name,
      skipTrial: body.skip_trial,
    });
  }

  @Get(':id')
  get(@CurrentUser() user: AuthenticatedUser, @Param('id', new ParseUUIDPipe()) id: string) {
    return this.subscriptions.get(user, id);
  }

  @Delete(':id')
  @ApiOperation({ summary: 'Cancel at the end of the term (the instance runs until then)' })
  cancel(@CurrentUser() user: AuthenticatedUser, @Param('id', new ParseUUIDPipe()) id: string) {
    return this.subscriptions.cancel(user, id);
  }

  @Post(':id/uncancel')
  @HttpCode(200)
  @ApiOperation({ summary: 'Withdraw a pending cancellation' })
  uncancel(@CurrentUser() user: AuthenticatedUser, @Param('id', new ParseUUIDPipe()) id: string) {
    return this.subscriptions.uncancel(user, id);
  }

  @Put(':id/plan')
  @ApiOperation({ summary: 'Change plan (now during a trial, at the end of the term after)' })
  changePlan(
    @CurrentUser() user: AuthenticatedUser,
    @Param('id', new ParseUUIDPipe()) id: string,
    @Body() body: PlanNameDto,
  ) {
    return this.subscriptions.changePlan(user, id, body.plan_name);
  }
}

@ApiTags('internal')
@Controller('internal')
@InternalOnly()
export class InternalSubscriptionsController {
  constructor(private readonly subscriptions: SubscriptionsService) {}

  /** 201 when created, 200 when the instance already had one (idempotent on instance_id). */
  @Post('subscriptions')
  async create(
    @Body() body: InternalCreateSubscriptionDto,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<SubscriptionSummary> {
    const { subscription, created } = await this.subscriptions.createForInstance({
      tenantId: body.tenant_id,
      instanceId: body.instance_id,
      customerId: body.customer_id,
      planName: body.plan_name,
      skipTrial: body.skip_trial,
    });
    void reply.status(created ? 201 : 200);
    return subscriptionSummary(subscription);
  }

  @Get('customers/:customer_id/subscription-summary')
  summary(
    @Param('customer_id', new ParseUUIDPipe()) customerId: string,
  ): Promise<CustomerSubscriptionSummary> {
    return this.subscriptions.summary(customerId);
  }
}
