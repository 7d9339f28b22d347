import { Body, Controller, Get, HttpCode, Param, ParseUUIDPipe, Post, Put } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { InternalOnly } from '@app/auth';
import { InstanceCount } from '@app/contracts';
import { ApiErrors, JSON_BODY_ERRORS, PARAM_ERRORS } from '@app/http';
import { InstanceIdPipe } from '../instances/instance-id.pipe';
import {
  AffectedDto,
  CustomerInstancesDto,
  CustomerTerminationDto,
  TerminatedCustomerInstancesDto,
  DesiredStateDto,
  InternalLimitsDto,
  TenantPlanCeilingDto,
  TenantSuspensionDto,
} from './internal.dto';
import { InternalInstancesService, InternalInstanceView } from './internal-instances.service';

const uuid = new ParseUUIDPipe();

/**
 * Service-to-service API (x-internal-token only, never routed by Traefik); shapes in
 * libs/contracts/src/internal-api.ts. Callers: billing-service (entitlement, limits), tenant-service
 * (suspension, counts), user-service (counts, account deletion).
 */
@ApiTags('internal')
@InternalOnly()
@Controller('internal')
export class InternalInstancesController {
  constructor(private readonly internal: InternalInstancesService) {}

  @Get('instances/:id')
  @ApiOperation({ summary: 'One instance, for another service' })
  @ApiOkResponse({ type: InternalInstanceView })
  @ApiErrors({ 404: ['INSTANCE_NOT_FOUND', 'NOT_FOUND'] })
  get(@Param('id', InstanceIdPipe) id: string) {
    return this.internal.get(id);
  }

  @Put('instances/:id/desired-state')
  @ApiOperation({ summary: 'Set the desired state (idempotent); running on a pending instance entitles it' })
  @ApiOkResponse({ type: InternalInstanceView })
  @ApiErrors(JSON_BODY_ERRORS, {
    404: ['INSTANCE_NOT_FOUND', 'NOT_FOUND'],
    409: ['INSTANCE_TERMINATED', 'INSTANCE_CHANGED'],
  })
  desiredState(@Param('id', InstanceIdPipe) id: string, @Body() dto: DesiredStateDto) {
    return this.internal.setDesiredState(id, dto);
  }

  @Put('instances/:id/limits')
  @ApiOperation({ summary: 'Set the resource limits (plan change); applied to the container by a job' })
  @ApiOkResponse({ type: InternalInstanceView })
  @ApiErrors(JSON_BODY_ERRORS, {
    404: ['INSTANCE_NOT_FOUND', 'NOT_FOUND'],
    409: ['INSTANCE_TERMINATED', 'OPERATION_PENDING', 'INSTANCE_CHANGED'],
  })
  limits(@Param('id', InstanceIdPipe) id: string, @Body() dto: InternalLimitsDto) {
    return this.internal.setLimits(id, dto);
  }

  @Post('tenants/:tenantId/suspend')
  @HttpCode(200)
  @ApiOperation({ summary: 'Suspend every live instance of the tenant' })
  @ApiOkResponse({ type: AffectedDto })
  @ApiErrors(JSON_BODY_ERRORS, PARAM_ERRORS)
  suspendTenant(@Param('tenantId', uuid) tenantId: string, @Body() dto: TenantSuspensionDto) {
    return this.internal.suspendTenant(tenantId, dto.reason, dto.actor ?? 'tenant-service');
  }

  @Post('tenants/:tenantId/resume')
  @HttpCode(200)
  @ApiOperation({
    summary: 'Bring the instances suspended with the tenant back to the state they had before',
  })
  @ApiOkResponse({ type: AffectedDto })
  @ApiErrors(JSON_BODY_ERRORS, PARAM_ERRORS)
  resumeTenant(@Param('tenantId', uuid) tenantId: string, @Body() dto: TenantSuspensionDto) {
    return this.internal.resumeTenant(tenantId, dto.reason, dto.actor ?? 'tenant-service');
  }

  @Put('tenants/:tenantId/plan-ceiling')
  @ApiOperation({ summary: "Lower the tenant's instances above its (new) plan's per-instance ceilings" })
  @ApiOkResponse({ type: AffectedDto })
  @ApiErrors(JSON_BODY_ERRORS, PARAM_ERRORS)
  planCeiling(@Param('tenantId', uuid) tenantId: string, @Body() dto: TenantPlanCeilingDto) {
    return this.internal.applyTenantPlanCeiling(tenantId, dto.plan);
  }

  @Get('customers/:customerId/instances/count')
  @ApiOperation({ summary: "Instances of the customer's tenants (the customer is the tenant owner)" })
  @ApiOkResponse({ type: InstanceCount })
  @ApiErrors(PARAM_ERRORS)
  customerCount(@Param('customerId', uuid) customerId: string) {
    return this.internal.count({ customerId });
  }

  @Get('customers/:customerId/instances')
  @ApiOperation({ summary: "The customer's live instances (neither terminated nor terminating)" })
  @ApiOkResponse({ type: CustomerInstancesDto })
  customerInstances(@Param('customerId', uuid) customerId: string) {
    return this.internal.customerInstances(customerId);
  }

  @Post('customers/:customerId/instances/terminate')
  @HttpCode(200)
  @ApiOperation({ summary: 'Terminate every live instance of the customer (account deletion); idempotent' })
  @ApiOkResponse({ type: TerminatedCustomerInstancesDto })
  terminateCustomerInstances(
    @Param('customerId', uuid) customerId: string,
    @Body() dto: CustomerTerminationDto,
  ) {
    return this.internal.terminateCustomerInstances(customerId, dto.reason, dto.actor);
  }

  @Get('tenants/:tenantId/instances/count')
  @ApiOperation({ summary: 'Instances of the tenant' })
  @ApiOkResponse({ type: InstanceCount })
  @ApiErrors(PARAM_ERRORS)
  tenantCount(@Param('tenantId', uuid) tenantId: string) {
    return this.internal.count({ tenantId });
  }
}
