import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { INSTANCES_BY_STATUS_SCHEMA, TENANT_PLANS, TENANT_ROLES, TENANT_STATUSES } from '@app/contracts';
import type { InstanceStatus, TenantPlan, TenantRole, TenantStatus } from '@app/contracts';

export class TenantView {
  @ApiProperty({ format: 'uuid' })
  id: string;
  @ApiProperty({ example: 'Acme Ltd' })
  name: string;
  @ApiProperty({ example: 'acme' })
  subdomain: string;
  @ApiProperty({ enum: TENANT_PLANS })
  plan: TenantPlan;
  @ApiProperty({ enum: TENANT_STATUSES })
  status: TenantStatus;
  @ApiProperty({ format: 'uuid' })
  owner_id: string;
  @ApiProperty({ type: 'integer', description: 'The plan quota, or the override when set' })
  max_instances: number;
  @ApiProperty({ type: 'integer', nullable: true, description: 'Set by an admin; null: the plan quota' })
  max_instances_override: number | null;
  @ApiPropertyOptional({
    enum: TENANT_ROLES,
    nullable: true,
    description: "The caller's role (null for a platform admin who is not a member); customer routes only",
  })
  my_role?: TenantRole | null;
  @ApiPropertyOptional({ type: 'integer', description: 'Instance slots in use' })
  instances_used?: number;
  @ApiPropertyOptional({ type: 'integer' })
  instances_free?: number;
  @ApiProperty({ format: 'date-time' })
  created_at: string;
  @ApiProperty({ format: 'date-time' })
  updated_at: string;
}

export class TenantPage {
  @ApiProperty({ type: [TenantView] })
  tenants: TenantView[];
  @ApiProperty({ type: 'integer' })
  total: number;
  @ApiProperty({ type: 'integer' })
  page: number;
  @ApiProperty({ type: 'integer' })
  page_size: number;
}

export class SubdomainCheck {
  @ApiProperty({ example: 'acme', description: 'Trimmed and lower-cased' })
  subdomain: string;
  @ApiProperty()
  available: boolean;
  @ApiProperty({ type: 'string', nullable: true, example: 'Subdomain is already taken' })
  reason: string | null;
}

export class MemberView {
  @ApiProperty({ format: 'uuid' })
  user_id: string;
  @ApiProperty({ example: 'jane@example.com' })
  email: string;
  @ApiProperty({ enum: TENANT_ROLES })
  role: TenantRole;
  @ApiProperty({ format: 'date-time' })
  joined_at: string;
}

export class MemberList {
  @ApiProperty({ type: [MemberView] })
  members: MemberView[];
}

export class InstanceTotals {
  @ApiProperty({ type: 'integer' })
  total: number;
  @ApiProperty(INSTANCES_BY_STATUS_SCHEMA)
  by_status: Partial<Record<InstanceStatus, number>>;
}

export class QuotaUse {
  @ApiProperty({ type: 'integer' })
  used: number;
  @ApiProperty({ type: 'integer' })
  limit: number;
}

export class CustomerStats {
  @ApiProperty({ format: 'uuid' })
  customer_id: string;
  @ApiProperty({ type: 'integer' })
  tenants_owned: number;
  @ApiProperty({ type: [TenantView] })
  tenants: TenantView[];
  @ApiProperty({ type: InstanceTotals, nullable: true, description: 'null when instance-service is down' })
  instances: InstanceTotals | null;
  @ApiProperty()
  quota: QuotaUse;
  @ApiProperty({ type: [String], example: [] })
  warnings: string[];
}

export class TenantSuspension {
  @ApiProperty()
  tenant: TenantView;
  @ApiProperty({ type: 'integer', description: 'Instances suspended or resumed' })
  instances_affected: number;
}
