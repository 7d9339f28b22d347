/**
 * The internal API's answers as zod schemas, checked by the calling service before use. Each is typed against
 * its class in internal-api.ts (which documents the answer in the serving service's OpenAPI), so the two cannot
 * drift apart without a compile error: one contract, written once, read by both sides.
 */
import { z } from 'zod';
import { DESIRED_STATES, INSTANCE_STATUSES } from './instance-lifecycle';
import {
  SUSPENSION_SOURCES,
  TENANT_PLANS,
  TENANT_ROLES,
  TENANT_STATUSES,
  type CustomerSubscriptionSummary,
  type CustomerTenant,
  type CustomerTenantSummary,
  type InstanceCount,
  type InternalInstanceState,
  type InternalMembership,
  type InternalTenant,
  type InternalUser,
  type QuotaReservation,
  type SubscriptionSummary,
} from './internal-api';

// ---- user-service ----
export const internalUserSchema: z.ZodType<InternalUser> = z.object({
  id: z.string(),
  email: z.string(),
  first_name: z.string(),
  last_name: z.string(),
  is_active: z.boolean(),
  role: z.enum(['customer', 'admin']),
});

// ---- tenant-service ----
export const internalMembershipSchema: z.ZodType<InternalMembership> = z.object({
  tenant_id: z.string(),
  user_id: z.string(),
  role: z.enum(TENANT_ROLES),
  tenant_status: z.enum(TENANT_STATUSES),
  owner_id: z.string(),
  subdomain: z.string(),
  plan: z.enum(TENANT_PLANS),
});

export const internalTenantSchema: z.ZodType<InternalTenant> = z.object({
  id: z.string(),
  owner_id: z.string(),
  subdomain: z.string(),
  plan: z.enum(TENANT_PLANS),
  status: z.enum(TENANT_STATUSES),
});

export const quotaReservationSchema: z.ZodType<QuotaReservation> = z.object({
  tenant_id: z.string(),
  instance_id: z.string(),
  used: z.number().int().min(0),
  limit: z.number().int().min(0),
});

const customerTenantSchema: z.ZodType<CustomerTenant> = z.looseObject({
  id: z.string(),
  name: z.string(),
  subdomain: z.string(),
  role: z.enum(TENANT_ROLES),
  plan: z.enum(TENANT_PLANS),
  status: z.enum(TENANT_STATUSES),
});

export const customerTenantSummarySchema: z.ZodType<CustomerTenantSummary> = z.object({
  tenant_count: z.number().int().min(0),
  tenants: z.array(customerTenantSchema),
});

// ---- instance-service ----
export const instanceCountSchema: z.ZodType<InstanceCount> = z.object({
  instance_count: z.number().int().min(0),
  by_status: z.partialRecord(z.enum(INSTANCE_STATUSES), z.number().int().min(0)),
});

/** The contract's part of an instance; callers that need more extend it (`.extend(...)`). */
export const internalInstanceStateSchema = z.looseObject({
  id: z.string(),
  tenant_id: z.string(),
  status: z.enum(INSTANCE_STATUSES),
  desired_state: z.enum(DESIRED_STATES),
  suspension_sources: z.array(z.enum(SUSPENSION_SOURCES)).optional(),
}) satisfies z.ZodType<InternalInstanceState>;

export const affectedSchema = z.object({ affected: z.number().int().min(0) });

// ---- billing-service ----
const subscriptionSummarySchema: z.ZodType<SubscriptionSummary> = z.looseObject({
  subscription_id: z.string(),
  instance_id: z.string(),
  plan_name: z.string(),
  phase: z.string().nullable(),
  state: z.string(),
  trial_ends_at: z.string().nullable(),
  entitled: z.boolean(),
});

export const customerSubscriptionSummarySchema: z.ZodType<CustomerSubscriptionSummary> = z.object({
  subscriptions: z.array(subscriptionSummarySchema),
  overdue_state: z.string().nullable(),
  balance: z.number().nullable(),
});

/** One subscription (instance-service reads it when it creates a subscription for a new instance). */
export { subscriptionSummarySchema };
