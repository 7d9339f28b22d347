/**
 * instance-service's internal API about all the instances of one customer (the owner of their tenants),
 * used by user-service when the customer deletes their account. Zod schemas: the server answers these
 * shapes and the client checks the answer against the same schema.
 */
import { z } from 'zod';
import { DESIRED_STATES, INSTANCE_STATUSES } from './instance-lifecycle';

export const customerInstanceSchema = z.object({
  id: z.string(),
  tenant_id: z.string(),
  name: z.string(),
  subdomain: z.string().nullable(),
  status: z.enum(INSTANCE_STATUSES),
  desired_state: z.enum(DESIRED_STATES),
});
export type CustomerInstance = z.infer<typeof customerInstanceSchema>;

/** GET /internal/customers/{customer_id}/instances → 200: the customer's live instances (neither
 *  terminated nor on their way there). */
export const customerInstancesSchema = z.object({ instances: z.array(customerInstanceSchema) });
export type CustomerInstances = z.infer<typeof customerInstancesSchema>;

/** POST /internal/customers/{customer_id}/instances/terminate {reason, actor} → 200: every live instance of
 *  the customer now wants `terminated` (idempotent: a second call finds none). */
export const terminateCustomerInstancesRequestSchema = z.object({
  reason: z.string().min(1).max(500),
  actor: z.string().min(1).max(100),
});
export type TerminateCustomerInstancesRequest = z.infer<typeof terminateCustomerInstancesRequestSchema>;

export const terminatedCustomerInstancesSchema = z.object({
  affected: z.number().int().min(0),
  instances: z.array(customerInstanceSchema),
});
export type TerminatedCustomerInstances = z.infer<typeof terminatedCustomerInstancesSchema>;
