/**
 * Service-to-service API on `/internal/*` (never routed by Traefik; only the service credential
 * `x-internal-token: <INTERNAL_API_TOKEN>` is accepted). Bodies are snake_case JSON like the public API.
 * Paths are relative to each service's base URL (USER_/TENANT_/INSTANCE_/BILLING_SERVICE_URL).
 */
import type { DesiredState, InstanceStatus } from './instance-lifecycle';

export const TENANT_ROLES = ['owner', 'admin', 'viewer'] as const;
export type TenantRole = (typeof TENANT_ROLES)[number];
export const TENANT_PLANS = ['starter', 'basic', 'professional', 'enterprise'] as const;
export type TenantPlan = (typeof TENANT_PLANS)[number];
export const TENANT_STATUSES = ['active', 'suspended', 'deleted'] as const;
export type TenantStatus = (typeof TENANT_STATUSES)[number];

// ---- user-service ----
/** GET /internal/users/{user_id} */
export interface InternalUser {
  id: string;
  email: string;
  first_name: string;
  last_name: string;
  is_active: boolean;
  role: 'customer' | 'admin';
}

// ---- tenant-service ----
/** GET /internal/tenants/{tenant_id}/members/{user_id} → 200, or 404 when not a member / no such tenant. */
export interface InternalMembership {
  tenant_id: string;
  user_id: string;
  role: TenantRole;
  tenant_status: TenantStatus;
  owner_id: string;
  subdomain: string;
  /** The tenant's plan: its instance quota and per-instance ceilings (@app/tenancy TENANT_PLAN_CEILINGS). */
  plan: TenantPlan;
}
/** GET /internal/tenants/{tenant_id} → 200, 404 when no such live tenant (for platform admins, not members). */
export interface InternalTenant {
  id: string;
  owner_id: string;
  subdomain: string;
  plan: TenantPlan;
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
export interface QuotaReservation {
  tenant_id: string;
  instance_id: string;
  used: number;
  limit: number;
}
/** DELETE /internal/tenants/{tenant_id}/quota/reservations/{instance_id} → 204 (idempotent). */

/** GET /internal/customers/{customer_id}/summary */
export interface CustomerTenantSummary {
  tenant_count: number;
  tenants: {
    id: string;
    name: string;
    subdomain: string;
    role: TenantRole;
    plan: TenantPlan;
    status: TenantStatus;
  }[];
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
export interface InternalInstanceState {
  id: string;
  tenant_id: string;
  status: InstanceStatus;
  desired_state: DesiredState;
}
/** POST /internal/tenants/{tenant_id}/suspend and /resume {reason} → 200 {affected: number}: an admin
 *  suspension (source `admin`) of every live instance, lifted by resume only. */
/** PUT /internal/tenants/{tenant_id}/plan-ceiling {plan} → 200 {affected}: instances above the tenant plan's
 *  ceilings are lowered to it (an admin or billing downgrade of the tenant plan). */
/** GET /internal/customers/{customer_id}/instances/count and /internal/tenants/{tenant_id}/instances/count */
export interface InstanceCount {
  instance_count: number;
  by_status: Partial<Record<InstanceStatus, number>>;
}
/** PUT /internal/instances/{instance_id}/limits {cpu_limit, memory_limit, storage_limit} → 200 (billing:
 *  the billing plan's entitlements, applied at creation and at every sync). */
export interface InstanceLimits {
  cpu_limit: number;
  memory_limit: string;
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
export interface SubscriptionSummary {
  subscription_id: string;
  instance_id: string;
  plan_name: string;
  phase: string | null;
  state: string;
  trial_ends_at: string | null;
  entitled: boolean;
}
/** GET /internal/customers/{customer_id}/subscription-summary */
export interface CustomerSubscriptionSummary {
  subscriptions: SubscriptionSummary[];
  overdue_state: string | null;
  balance: number | null;
}
/** GET /internal/plans/{plan_name}/entitlements → InstanceLimits, 404 unknown plan. */
