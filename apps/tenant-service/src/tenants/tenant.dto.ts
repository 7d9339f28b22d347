import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Transform } from 'class-transformer';
import {
  IsEmail,
  IsIn,
  IsInt,
  IsOptional,
  IsString,
  Length,
  Matches,
  Max,
  MaxLength,
  Min,
  ValidateIf,
} from 'class-validator';
import { TENANT_PLANS } from '@app/contracts';
import type { TenantPlan } from '@app/contracts';

const trim = ({ value }: { value: unknown }) => (typeof value === 'string' ? value.trim() : value);
const lower = ({ value }: { value: unknown }) =>
  typeof value === 'string' ? value.trim().toLowerCase() : value;

export class CreateTenantDto {
  @ApiProperty({ example: 'Acme Ltd' })
  @Transform(trim)
  @IsString()
  @Length(1, 100)
  name: string;

  @ApiProperty({ example: 'acme', description: '3–50 chars: lower-case letters, digits, single hyphens' })
  @Transform(lower)
  @IsString()
  @MaxLength(63)
  subdomain: string;

  @ApiPropertyOptional({
    enum: TENANT_PLANS,
    default: 'starter',
    description: 'Only starter for customers (403 PLAN_NOT_SELF_SERVICE); any plan for platform admins',
  })
  @IsOptional()
  @IsIn(TENANT_PLANS)
  plan?: TenantPlan;
}

export class UpdateTenantDto {
  @ApiPropertyOptional()
  @IsOptional()
  @Transform(trim)
  @IsString()
  @Length(1, 100)
  name?: string;

  @ApiPropertyOptional({
    enum: TENANT_PLANS,
    description:
      'Platform admins only (403 PLAN_NOT_SELF_SERVICE for members); billing uses the internal API',
  })
  @IsOptional()
  @IsIn(TENANT_PLANS)
  plan?: TenantPlan;
}

/** PUT /internal/tenants/{id}/plan (contracts: TenantPlanChangeRequest). */
export class TenantPlanChangeDto {
  @ApiProperty({ enum: TENANT_PLANS })
  @IsIn(TENANT_PLANS)
  plan: TenantPlan;

  @ApiProperty({ example: 'billing-service' })
  @IsString()
  @Length(1, 100)
  actor: string;
}

export class PageQueryDto {
  @ApiPropertyOptional({ default: 1 })
  @IsOptional()
  @Transform(({ value }) => (value === undefined ? value : Number(value)))
  @IsInt()
  @Min(1)
  @Max(100000)
  page: number = 1;

  @ApiPropertyOptional({ default: 20, maximum: 100 })
  @IsOptional()
  @Transform(({ value }) => (value === undefined ? value : Number(value)))
  @IsInt()
  @Min(1)
  @Max(100)
  page_size: number = 20;
}

export class AdminTenantQueryDto extends PageQueryDto {
  @ApiPropertyOptional()
  @IsOptional()
  @IsString()
  @MaxLength(100)
  search?: string;
}

export class InviteMemberDto {
  @ApiProperty()
  @Transform(lower)
  @IsEmail()
  @MaxLength(255)
  email: string;

  @ApiProperty({ enum: ['admin', 'viewer'] })
  @IsIn(['admin', 'viewer'])
  role: 'admin' | 'viewer';
}

export class UpdateMemberDto {
  @ApiProperty({ enum: ['admin', 'viewer'] })
  @IsIn(['admin', 'viewer'])
  role: 'admin' | 'viewer';
}

export class TransferOwnershipDto {
  @ApiProperty({ description: 'user id of an existing member' })
  @Matches(/^[0-9a-f-]{36}$/i)
  user_id: string;
}

export class ReasonDto {
  @ApiPropertyOptional()
  @IsOptional()
  @ValidateIf((_, v) => v !== undefined)
  @IsString()
  @MaxLength(500)
  reason?: string;
}

export class QuotaReservationDto {
  @ApiProperty()
  @Matches(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i)
  instance_id: string;
}

export class QuotaOverrideDto {
  @ApiProperty({ type: 'integer', nullable: true, description: 'null restores the plan quota' })
  @ValidateIf((_, v) => v !== null)
  @IsInt()
  @Min(0)
  @Max(1000)
  max_instances: number | null;
}
