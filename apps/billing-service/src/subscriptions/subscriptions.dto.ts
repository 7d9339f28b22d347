import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsBoolean, IsOptional, IsString, IsUUID, Matches, MaxLength } from 'class-validator';

const PLAN_NAME = /^[a-z0-9][a-z0-9-]{0,99}$/;
const PLAN_MESSAGE = 'plan_name must be a plan name such as basic-monthly';

export class PlanNameDto {
  @ApiProperty({ example: 'standard-monthly' })
  @IsString()
  @MaxLength(100)
  @Matches(PLAN_NAME, { message: PLAN_MESSAGE })
  plan_name: string;
}

/** POST /api/billing/subscriptions: a subscription for an instance that has none. */
export class CreateSubscriptionDto extends PlanNameDto {
  @ApiProperty({ format: 'uuid' })
  @IsUUID()
  instance_id: string;

  @ApiPropertyOptional({ description: 'Start paying at once even if the plan has a trial' })
  @IsOptional()
  @IsBoolean()
  skip_trial?: boolean;
}

/** POST /internal/subscriptions (contracts CreateSubscriptionRequest). */
export class InternalCreateSubscriptionDto extends PlanNameDto {
  @ApiProperty({ format: 'uuid' })
  @IsUUID()
  tenant_id: string;

  @ApiProperty({ format: 'uuid' })
  @IsUUID()
  instance_id: string;

  @ApiProperty({ format: 'uuid' })
  @IsUUID()
  customer_id: string;

  @ApiPropertyOptional({ description: 'Start paying at once even if the plan has a trial' })
  @IsOptional()
  @IsBoolean()
  skip_trial?: boolean;
}

export class TenantFilterDto {
  @ApiPropertyOptional({ format: 'uuid' })
  @IsOptional()
  @IsUUID()
  tenant_id?: string;
}
