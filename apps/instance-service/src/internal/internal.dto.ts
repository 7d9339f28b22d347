import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Transform } from 'class-transformer';
import { IsIn, IsNumber, IsOptional, IsString, Length, Matches, Max, Min } from 'class-validator';
import {
  DESIRED_STATES,
  INSTANCE_STATUSES,
  TENANT_PLANS,
  type CustomerInstance,
  type CustomerInstances,
  type DesiredState,
  type InstanceStatus,
  type TenantPlan,
  type TerminateCustomerInstancesRequest,
  type TerminatedCustomerInstances,
} from '@app/contracts';
import { CPU_LIMIT_MAX, CPU_LIMIT_MIN, RESOURCE_SIZE_PATTERN } from '../instances/instance-rules';

const UpperCase = () =>
  Transform(({ value }: { value: unknown }) =>
    typeof value === 'string' ? value.trim().toUpperCase() : value,
  );

/** PUT /internal/instances/{id}/desired-state (contracts: DesiredStateRequest). */
export class DesiredStateDto {
  @ApiProperty({ enum: DESIRED_STATES })
  @IsIn(DESIRED_STATES, { message: `desired_state must be one of ${DESIRED_STATES.join(', ')}` })
  desired_state: DesiredState;

  @ApiProperty({ example: 'subscription ACTIVE (trial)' })
  @IsString()
  @Length(1, 500)
  reason: string;

  @ApiProperty({ example: 'billing-service' })
  @IsString()
  @Length(1, 100)
  actor: string;

  @ApiPropertyOptional({
    enum: ['billing', 'admin'],
    default: 'billing',
    description: 'Who suspends or lifts: a source lifts only its own suspension',
  })
  @IsOptional()
  @IsIn(['billing', 'admin'], { message: 'source must be billing or admin' })
  source?: 'billing' | 'admin';
}

/** PUT /internal/tenants/{tenant_id}/plan-ceiling. */
export class TenantPlanCeilingDto {
  @ApiProperty({ enum: TENANT_PLANS })
  @IsIn(TENANT_PLANS, { message: `plan must be one of ${TENANT_PLANS.join(', ')}` })
  plan: TenantPlan;
}

/** PUT /internal/instances/{id}/limits (contracts: InstanceLimits). */
export class InternalLimitsDto {
  @ApiProperty({ minimum: CPU_LIMIT_MIN, maximum: CPU_LIMIT_MAX })
  @IsNumber({ allowNaN: false, allowInfinity: false, maxDecimalPlaces: 2 })
  @Min(CPU_LIMIT_MIN)
  @Max(CPU_LIMIT_MAX)
  cpu_limit: number;

  @ApiProperty({ example: '2G' })
  @UpperCase()
  @IsString()
  @Matches(RESOURCE_SIZE_PATTERN, { message: 'memory_limit must look like 512M or 2G' })
  memory_limit: string;

  @ApiProperty({ example: '10G' })
  @UpperCase()
  @IsString()
  @Matches(RESOURCE_SIZE_PATTERN, { message: 'storage_limit must look like 512M or 10G' })
  storage_limit: string;

  @ApiPropertyOptional({ example: 'billing-service' })
  @IsOptional()
  @IsString()
  @Length(1, 100)
  actor?: string;
}

/** POST /internal/tenants/{tenant_id}/suspend and /resume. */
export class TenantSuspensionDto {
  @ApiProperty({ example: 'overdue invoices' })
  @IsString()
  @Length(1, 500)
  reason: string;

  @ApiPropertyOptional({ example: 'tenant-service' })
  @IsOptional()
  @IsString()
  @Length(1, 100)
  actor?: string;
}

export class AffectedDto {
  @ApiProperty({ type: 'integer', description: 'Instances whose desired state changed' }) affected: number;
}

/** POST /internal/customers/{customer_id}/instances/terminate (contracts: TerminateCustomerInstancesRequest). */
export class CustomerTerminationDto implements TerminateCustomerInstancesRequest {
  @ApiProperty({ example: 'account deleted by the customer' })
  @IsString()
  @Length(1, 500)
  reason: string;

  @ApiProperty({ example: 'user-service' })
  @IsString()
  @Length(1, 100)
  actor: string;
}

export class CustomerInstanceDto implements CustomerInstance {
  @ApiProperty({ format: 'uuid' }) id: string;
  @ApiProperty({ format: 'uuid' }) tenant_id: string;
  @ApiProperty() name: string;
  @ApiProperty({ type: String, nullable: true }) subdomain: string | null;
  @ApiProperty({ enum: INSTANCE_STATUSES }) status: InstanceStatus;
  @ApiProperty({ enum: DESIRED_STATES }) desired_state: DesiredState;
}

export class CustomerInstancesDto implements CustomerInstances {
  @ApiProperty({ type: [CustomerInstanceDto] }) instances: CustomerInstanceDto[];
}

export class TerminatedCustomerInstancesDto implements TerminatedCustomerInstances {
  @ApiProperty() affected: number;
  @ApiProperty({ type: [CustomerInstanceDto] }) instances: CustomerInstanceDto[];
}
