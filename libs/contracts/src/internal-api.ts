/**
 * Service-to-service API on `/internal/*` (never routed by Traefik; only the service credential
 * `x-internal-token: <INTERNAL_API_TOKEN>` is accepted). Bodies are snake_case JSON like the public API.
 * Paths are relative to each service's base URL (USER_/TENANT_/INSTANCE_/BILLING_SERVICE_URL).
 */
import { ApiProperty } from '@nestjs/swagger';
import type { ApiPropertyOptions } from '@nestjs/swagger';
import { DESIRED_STATES, INSTANCE_STATUSES } from './instance-lifecycle';
import type { DesiredState, InstanceStatus } from './instance-lifecycle';

export const TENANT_ROLES = ['owner', 'admin', 'viewer'] as const;
export type TenantRole = (typeof TENANT_ROLES)[number];
export const TENANT_PLANS = ['starter', 'basic', 'professional', 'enterprise'] as const;
export type TenantPlan = (typeof TENANT_PLANS)[number];
export const TENANT_STATUSES = ['active', 'suspended', 'deleted'] as const;
export type TenantStatus = (typeof TENANT_STATUSES)[number];

// ---- user-service ----
/** GET /internal/users/{user_id} */
export class InternalUser {
  @ApiProperty({ format: 'uuid' })
  id: string;
  @ApiProperty({ example: 'jane@example.com' })
  email: string;
  @ApiProperty({ example: 'Jane' })
  first_name: string;
  @ApiProperty({ example: 'Doe' })
  last_name: string;
  @ApiProperty()
  is_active: boolean;
  @ApiProperty({ enum: ['customer', 'admin'] })
  role: 'customer' | 'admin';
}

// ---- tenant-service ----
/** GET /internal/tenants/{tenant_id}/members/{user_id} → 200, or 404 when not a member / no such tenant. */
export class InternalMembership {
  @ApiProperty({ format: 'uuid' })
  tenant_id: string;
  @ApiProperty({ format: 'uuid' })
  user_id: string;
  @ApiProperty({ enum: TENANT_ROLES })
  role: TenantRole;
  @ApiProperty({ enum: TENANT_STATUSES })
  tenant_status: TenantStatus;
  @ApiProperty({ format: 'uuid' })
  owner_id: string;
  @ApiProperty({ example: 'acme' })
  subdomain: string;
  /** The tenant's plan: its instance quota and per-instance ceilings (@app/tenancy TENANT_PLAN_CEILINGS). */
  @ApiProperty({ enum: TENANT_PLANS })
  plan: TenantPlan;
}
/** GET /internal/tenants/{tenant_id} → 200, 404 when no such live tenant (for platform admins, not members). */
export class InternalTenant {
  @ApiProperty({ format: 'uuid' })
  id: string;
  @ApiProperty({ format: 'uuid' })
  owner_id: string;
  @ApiProperty({ example: 'acme' })
  subdomain: string;
  @ApiProperty({ enum: TENANT_PLANS })
  plan: TenantPlan;
  @ApiProperty({ enum: TENANT_STATUSES })
  status: TenantStatus;
}
/** PUT /internal/tenants/{tenant_id}/plan {plan, actor} → 200 InternalTenant (billing changes plans here;
 *  409 PLAN_TOO_SMALL when the tenant has more instances than the plan allows). */
export interface TenantPlanChangeRequest {
  plan: TenantPlan;
  actor: string;
}
/** POST /internal/tenants/{tenant_id}/quota/reservations {instance_id} → 201 (or 200 when it already
 *  held one for that instance), 409 code QUOTA_EXCEEDED when the tenant's last slot is taken. */
export interface QuotaReservationRequest {
  instance_id: string;
}
export class QuotaReservation {
  @ApiProperty({ format: 'uuid' })
  tenant_id: string;
  @ApiProperty({ format: 'uuid' })
  instance_id: string;
  @ApiProperty({ type: 'integer', description: 'Slots in use, this reservation included' })
  used: number;
  @ApiProperty({ type: 'integer', description: 'The plan quota (or its override)' })
  limit: number;
}
/** DELETE /internal/tenants/{tenant_id}/quota/reservations/{instance_id} → 204 (idempotent). */

/** GET /internal/customers/{customer_id}/summary */
/** Ids are not declared `format: uuid` here: GET /auth/me passes these on as the other services gave them. */
export class CustomerTenant {
  @ApiProperty({ description: 'Tenant id (a UUID)' })
  id: string;
  @ApiProperty({ example: 'Acme Ltd' })
  name: string;
  @ApiProperty({ example: 'acme' })
  subdomain: string;
  @ApiProperty({ enum: TENANT_ROLES })
  role: TenantRole;
  @ApiProperty({ enum: TENANT_PLANS })
  plan: TenantPlan;
  @ApiProperty({ enum: TENANT_STATUSES })
  status: TenantStatus;
}
export class CustomerTenantSummary {
  @ApiProperty({ type: 'integer' })
  tenant_count: number;
  @ApiProperty({ type: [CustomerTenant] })
  tenants: CustomerTenant[];
}

// ---- instance-service ----
/** PUT /internal/instances/{instance_id}/desired-state → 200 InternalInstanceState, 404 unknown instance.
 *  Idempotent; `running` on a `pending` instance entitles it (provisioning starts). */
export interface DesiredStateRequest {
  desired_state: DesiredState;
  reason: string;
  actor: string;
  /** Who suspends or lifts (default billing): a source lifts only its own suspension. */
  source?: 'billing' | 'admin';
}
/** Who suspended an instance; the customer may lift only `customer`. */
export const SUSPENSION_SOURCES = ['billing', 'admin', 'customer'] as const;
export type SuspensionSource = (typeof SUSPENSION_SOURCES)[number];
export class InternalInstanceState {
  @ApiProperty({ format: 'uuid' })
  id: string;
  @ApiProperty({ format: 'uuid' })
  tenant_id: string;
  @ApiProperty({ enum: INSTANCE_STATUSES })
  status: InstanceStatus;
  @ApiProperty({ enum: DESIRED_STATES })
  desired_state: DesiredState;
}
/** POST /internal/tenants/{tenant_id}/suspend and /resume {reason} → 200 {affected: number}: an admin
 *  suspension (source `admin`) of every live instance, lifted by resume only. */
/** PUT /internal/tenants/{tenant_id}/plan-ceiling {plan} → 200 {affected}: instances above the tenant plan's
 *  ceilings are lowered to it (an admin or billing downgrade of the tenant plan). */
/** GET /internal/customers/{customer_id}/instances/count and /internal/tenants/{tenant_id}/instances/count */
/** Schema of `by_status` in InstanceCount, and of whatever passes those counts on. */
export const INSTANCES_BY_STATUS_SCHEMA: ApiPropertyOptions = {
  type: 'object',
  properties: Object.fromEntries(INSTANCE_STATUSES.map((s) => [s, { type: 'integer' as const }])),
  additionalProperties: false,
  description: 'Instances per observed status (statuses with none are left out)',
  example: { running: 2, stopped: 1 },
};

export class InstanceCount {
  @ApiProperty({ type: 'integer', description: 'Every instance, terminated ones included (see by_status)' })
  instance_count: number;
  @ApiProperty(INSTANCES_BY_STATUS_SCHEMA)
  by_status: Partial<Record<InstanceStatus, number>>;
}
/** PUT /internal/instances/{instance_id}/limits {cpu_limit, memory_limit, storage_limit} → 200 (billing:
 *  the billing plan's entitlements, applied at creation and at every sync). */
export class InstanceLimits {
  @ApiProperty({ description: 'CPUs', example: 1 })
  cpu_limit: number;
  @ApiProperty({ example: '2G' })
  memory_limit: string;
  @ApiProperty({ example: '10G' })
  storage_limit: string;
}

// ---- billing-service ----
/** POST /internal/subscriptions → 201 (200 when the instance already has one: idempotent on instance_id).
 *  409 TRIAL_ALREADY_USED when a trial plan is asked by a customer (the tenant owner, `customer_id`) who had
 *  one, in any tenant; 400 UNKNOWN_PLAN. */
export interface CreateSubscriptionRequest {
  tenant_id: string;
  instance_id: string;
  customer_id: string;
  plan_name: string;
}
export class SubscriptionSummary {
  @ApiProperty({ description: 'A UUID' })
  subscription_id: string;
  @ApiProperty({ description: 'A UUID' })
  instance_id: string;
  @ApiProperty({ example: 'starter-monthly' })
  plan_name: string;
  @ApiProperty({ type: 'string', nullable: true, example: 'TRIAL' })
  phase: string | null;
  @ApiProperty({ example: 'ACTIVE' })
  state: string;
  @ApiProperty({ type: 'string', format: 'date-time', nullable: true })
  trial_ends_at: string | null;
  @ApiProperty({ description: 'Whether the instance may run under this subscription' })
  entitled: boolean;
}
/** GET /internal/customers/{customer_id}/subscription-summary */
export class CustomerSubscriptionSummary {
  @ApiProperty({ type: [SubscriptionSummary] })
  subscriptions: SubscriptionSummary[];
  @ApiProperty({ type: 'string', nullable: true, example: null })
  overdue_state: string | null;
  @ApiProperty({ type: 'number', nullable: true, example: 0 })
  balance: number | null;
}
/** GET /internal/plans/{plan_name}/entitlements → InstanceLimits, 404 unknown plan. */
