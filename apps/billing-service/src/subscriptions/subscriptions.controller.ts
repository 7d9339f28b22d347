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
import { ApiCreatedResponse, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { ApiErrors, JSON_BODY_ERRORS, PARAM_ERRORS, QUERY_ERRORS } from '@app/http';
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
import { subscriptionSummary, SubscriptionList, SubscriptionView } from './subscription.views';

/** Kill Bill answered with an error (502), or did not answer / another service is down (503). */
const KILLBILL_ERRORS = { 502: ['KILLBILL_ERROR'], 503: ['DEPENDENCY_UNAVAILABLE'] } as const;
/** Not a subscription of a tenant you belong to, or your role only reads. */
const SUBSCRIPTION_ACCESS = { 403: ['TENANT_ROLE_REQUIRED'], 404: ['NOT_FOUND'] } as const;
import { SubscriptionsService } from './subscriptions.service';

@ApiTags('billing')
@Controller('api/billing/subscriptions')
@Authenticated()
export class SubscriptionsController {
  constructor(private readonly subscriptions: SubscriptionsService) {}

  @Get()
  @ApiOperation({ summary: 'Subscriptions of the tenants I belong to' })
  @ApiOkResponse({ type: SubscriptionList })
  @ApiErrors(QUERY_ERRORS, { 404: ['NOT_FOUND'] })
  async list(@CurrentUser() user: AuthenticatedUser, @Query() query: TenantFilterDto) {
    const subscriptions = await this.subscriptions.list(user, query.tenant_id);
    return { subscriptions, total: subscriptions.length };
  }

  @Post()
  @ApiOperation({ summary: 'Subscribe an existing instance to a plan' })
  @ApiCreatedResponse({ type: SubscriptionView })
  @ApiErrors(JSON_BODY_ERRORS, SUBSCRIPTION_ACCESS, KILLBILL_ERRORS, {
    400: ['UNKNOWN_PLAN', 'BILLING_REJECTED'],
    409: [
      'INSTANCE_TERMINATED',
      'SUBSCRIPTION_EXISTS',
      'TRIAL_ALREADY_USED',
      'ACCOUNT_OVERDUE',
      'BILLING_DISABLED',
    ],
  })
  create(@CurrentUser() user: AuthenticatedUser, @Body() body: CreateSubscriptionDto) {
    return this.subscriptions.createForCustomer(user, {
      instanceId: body.instance_id,
      planName: body.plan_name,
      skipTrial: body.skip_trial,
    });
  }

  @Get(':id')
  @ApiOperation({ summary: 'One subscription' })
  @ApiOkResponse({ type: SubscriptionView })
  @ApiErrors(PARAM_ERRORS, SUBSCRIPTION_ACCESS)
  get(@CurrentUser() user: AuthenticatedUser, @Param('id', new ParseUUIDPipe()) id: string) {
    return this.subscriptions.get(user, id);
  }

  @Delete(':id')
  @ApiOperation({ summary: 'Cancel at the end of the term (the instance runs until then)' })
  @ApiOkResponse({ type: SubscriptionView })
  @ApiErrors(PARAM_ERRORS, SUBSCRIPTION_ACCESS, KILLBILL_ERRORS, {
    400: ['BILLING_REJECTED'],
    409: ['SUBSCRIPTION_ENDED', 'ACCOUNT_OVERDUE', 'BILLING_DISABLED'],
  })
  cancel(@CurrentUser() user: AuthenticatedUser, @Param('id', new ParseUUIDPipe()) id: string) {
    return this.subscriptions.cancel(user, id);
  }

  @Post(':id/uncancel')
  @HttpCode(200)
  @ApiOperation({ summary: 'Withdraw a pending cancellation' })
  @ApiOkResponse({ type: SubscriptionView })
  @ApiErrors(PARAM_ERRORS, SUBSCRIPTION_ACCESS, KILLBILL_ERRORS, {
    400: ['BILLING_REJECTED'],
    409: ['NO_PENDING_CANCELLATION', 'ACCOUNT_OVERDUE', 'BILLING_DISABLED'],
  })
  uncancel(@CurrentUser() user: AuthenticatedUser, @Param('id', new ParseUUIDPipe()) id: string) {
    return this.subscriptions.uncancel(user, id);
  }

  @Put(':id/plan')
  @ApiOperation({ summary: 'Change plan (now during a trial, at the end of the term after)' })
  @ApiOkResponse({ type: SubscriptionView })
  @ApiErrors(JSON_BODY_ERRORS, PARAM_ERRORS, SUBSCRIPTION_ACCESS, KILLBILL_ERRORS, {
    400: ['UNKNOWN_PLAN', 'BILLING_REJECTED'],
    409: ['SUBSCRIPTION_ENDED', 'SAME_PLAN', 'ACCOUNT_OVERDUE', 'BILLING_DISABLED'],
  })
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

  @Post('subscriptions')
  @ApiOperation({
    summary: 'Subscribe an instance (instance-service, at creation); idempotent on instance_id',
  })
  @ApiCreatedResponse({ type: SubscriptionSummary, description: 'Created' })
  @ApiOkResponse({ type: SubscriptionSummary, description: 'The instance already had one' })
  @ApiErrors(JSON_BODY_ERRORS, KILLBILL_ERRORS, {
    400: ['UNKNOWN_PLAN', 'BILLING_REJECTED'],
    404: ['NOT_FOUND'],
    409: ['INSTANCE_TERMINATED', 'TRIAL_ALREADY_USED', 'ACCOUNT_OVERDUE', 'BILLING_DISABLED'],
  })
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
  @ApiOperation({
    summary: "Subscriptions, overdue state and balance of a customer's tenants (GET /auth/me)",
  })
  @ApiOkResponse({ type: CustomerSubscriptionSummary })
  @ApiErrors(PARAM_ERRORS)
  summary(
    @Param('customer_id', new ParseUUIDPipe()) customerId: string,
  ): Promise<CustomerSubscriptionSummary> {
    return this.subscriptions.summary(customerId);
  }
}
