import { ApiProperty } from '@nestjs/swagger';
import { CustomerSubscriptionSummary, CustomerTenant, INSTANCES_BY_STATUS_SCHEMA } from '@app/contracts';
import type { InstanceStatus } from '@app/contracts';
import { ProfileView } from '../users/user.views';

/** GET /auth/me: the profile, with what the other services know (null and a warning when one is down). */
export class AccountSummary extends ProfileView {
  @ApiProperty({ type: 'integer', nullable: true })
  tenant_count: number | null;
  @ApiProperty({ type: [CustomerTenant], nullable: true })
  tenants: CustomerTenant[] | null;
  @ApiProperty({ type: 'integer', nullable: true })
  instance_count: number | null;
  @ApiProperty({ ...INSTANCES_BY_STATUS_SCHEMA, nullable: true })
  instances_by_status: Partial<Record<InstanceStatus, number>> | null;
  @ApiProperty({ type: CustomerSubscriptionSummary, nullable: true })
  subscription_summary: CustomerSubscriptionSummary | null;
  @ApiProperty({ type: [String], example: ['billing-service unavailable'] })
  warnings: string[];
}
