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
  Res,
} from '@nestjs/common';
import {
  ApiCreatedResponse,
  ApiNoContentResponse,
  ApiOkResponse,
  ApiOperation,
  ApiTags,
} from '@nestjs/swagger';
import { CustomerTenantSummary, InternalMembership, InternalTenant, QuotaReservation } from '@app/contracts';
import { ApiErrors, JSON_BODY_ERRORS, PARAM_ERRORS } from '@app/http';
import type { FastifyReply } from 'fastify';
import { InternalOnly } from '@app/auth';
import { QuotaReservationDto, TenantPlanChangeDto } from '../tenants/tenant.dto';
import { TenantsService } from '../tenants/tenants.service';

const uuid = new ParseUUIDPipe();

/** Service-to-service API (x-internal-token only); shapes in libs/contracts/src/internal-api.ts. */
@ApiTags('internal')
@InternalOnly()
@ApiErrors(PARAM_ERRORS)
@Controller('internal')
export class InternalTenantsController {
  constructor(private readonly tenants: TenantsService) {}

  @Get('tenants/:tenantId/members/:userId')
  @ApiOperation({ summary: "A user's membership of a tenant (404 when not a member or no such tenant)" })
  @ApiOkResponse({ type: InternalMembership })
  @ApiErrors({ 404: ['NOT_FOUND'] })
  membership(@Param('tenantId', uuid) tenantId: string, @Param('userId', uuid) userId: string) {
    return this.tenants.membership(tenantId, userId);
  }

  @Get('tenants/:tenantId')
  @ApiOperation({ summary: 'A live tenant (for platform admins, who are not members)' })
  @ApiOkResponse({ type: InternalTenant })
  @ApiErrors({ 404: ['NOT_FOUND'] })
  tenant(@Param('tenantId', uuid) tenantId: string) {
    return this.tenants.internalTenant(tenantId);
  }

  @Put('tenants/:tenantId/plan')
  @ApiOperation({
    summary: "Change the tenant's plan (billing); instances above the new ceilings are lowered",
  })
  @ApiOkResponse({ type: InternalTenant })
  @ApiErrors(JSON_BODY_ERRORS, { 404: ['NOT_FOUND'], 409: ['PLAN_TOO_SMALL'] })
  setPlan(@Param('tenantId', uuid) tenantId: string, @Body() body: TenantPlanChangeDto) {
    return this.tenants.setPlan(tenantId, body.plan);
  }

  @Post('tenants/:tenantId/quota/reservations')
  @ApiOperation({ summary: 'Take a quota slot for an instance (idempotent on instance_id)' })
  @ApiCreatedResponse({ type: QuotaReservation, description: 'Reserved' })
  @ApiOkResponse({ type: QuotaReservation, description: 'The instance already held a slot' })
  @ApiErrors(JSON_BODY_ERRORS, { 404: ['NOT_FOUND'], 409: ['QUOTA_EXCEEDED', 'TENANT_SUSPENDED'] })
  async reserve(
    @Param('tenantId', uuid) tenantId: string,
    @Body() body: QuotaReservationDto,
    @Res({ passthrough: true }) reply: FastifyReply,
  ) {
    const { created, reservation } = await this.tenants.reserve(tenantId, body.instance_id);
    reply.status(created ? 201 : 200);
    return reservation;
  }

  @Delete('tenants/:tenantId/quota/reservations/:instanceId')
  @HttpCode(204)
  @ApiOperation({ summary: "Give an instance's quota slot back (idempotent)" })
  @ApiNoContentResponse({ description: 'Released (or was not held)' })
  async release(@Param('tenantId', uuid) tenantId: string, @Param('instanceId', uuid) instanceId: string) {
    await this.tenants.release(tenantId, instanceId);
  }

  @Get('customers/:customerId/summary')
  @ApiOperation({ summary: 'Tenants a customer belongs to, with their role (GET /auth/me)' })
  @ApiOkResponse({ type: CustomerTenantSummary })
  summary(@Param('customerId', uuid) customerId: string) {
    return this.tenants.customerSummary(customerId);
  }
}
