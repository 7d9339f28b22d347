import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Transform } from 'class-transformer';
import { IsIn, IsNumber, IsOptional, IsString, Length, Matches, Max, Min } from 'class-validator';
import { DESIRED_STATES, TENANT_PLANS, type DesiredState, type TenantPlan } from '@app/contracts';
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
