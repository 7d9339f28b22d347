import { Inject, Injectable, Logger } from '@nestjs/common';
import { z } from 'zod';
import { InternalCallError, InternalHttpClient } from '@app/auth';
import type { AuthenticatedUser } from '@app/auth';
import { APP_CONFIG } from '@app/config';
import { INSTANCE_STATUSES, TENANT_PLANS, TENANT_ROLES, TENANT_STATUSES } from '@app/contracts';
import type { CustomerSubscriptionSummary, CustomerTenantSummary, InstanceCount } from '@app/contracts';
import { NotFoundError } from '@app/http';
import type { Config } from '../config/env';
import { profileView } from '../users/user.views';
import { UsersRepository } from '../users/users.repository';
import { AccountSummary } from './account-summary.view';

/** Answers of the internal APIs user-service reads (types in @app/contracts), checked before use. */
export const tenantSummarySchema: z.ZodType<CustomerTenantSummary> = z.object({
  tenant_count: z.number().int().min(0),
  tenants: z.array(
    z.looseObject({
      id: z.string(),
      name: z.string(),
      subdomain: z.string(),
      role: z.enum(TENANT_ROLES),
      plan: z.enum(TENANT_PLANS),
      status: z.enum(TENANT_STATUSES),
    }),
  ),
});

export const instanceCountSchema: z.ZodType<InstanceCount> = z.object({
  instance_count: z.number().int().min(0),
  by_status: z.partialRecord(z.enum(INSTANCE_STATUSES), z.number().int().min(0)),
});

export const subscriptionSummarySchema: z.ZodType<CustomerSubscriptionSummary> = z.object({
  subscriptions: z.array(
    z.looseObject({
      subscription_id: z.string(),
      instance_id: z.string(),
      plan_name: z.string(),
      phase: z.string().nullable(),
      state: z.string(),
      trial_ends_at: z.string().nullable(),
      entitled: z.boolean(),
    }),
  ),
  overdue_state: z.string().nullable(),
  balance: z.number().nullable(),
});

type Settled<T> = { value: T; warning: null } | { value: null; warning: string };

/**
 * GET /auth/me: the profile plus what other services know about the customer, fetched in parallel with
 * short timeouts. A service that does not answer (or answers nonsense) gives `null` and a warning, never
 * a made-up value.
 */
@Injectable()
export class AccountSummaryService {
  private readonly logger = new Logger('AccountSummary');

  constructor(
    private readonly users: UsersRepository,
    private readonly http: InternalHttpClient,
    @Inject(APP_CONFIG) private readonly config: Config,
  ) {}

  private async settle<T>(service: string, call: () => Promise<T>): Promise<Settled<T>> {
    try {
      return { value: await call(), warning: null };
    } catch (error) {
      if (!(error instanceof InternalCallError)) throw error;
      this.logger.warn({ msg: `${service} did not answer`, reason: error.reason, error: error.message });
      return { value: null, warning: `${service} unavailable` };
    }
  }

  async summarise(caller: AuthenticatedUser, requestId: string): Promise<AccountSummary> {
    const id = encodeURIComponent(caller.id);
    const options = { requestId };
    const [user, tenants, instances, subscription] = await Promise.all([
      this.users.findById(caller.id),
      this.settle('tenant-service', () =>
        this.http.get(
          this.config.TENANT_SERVICE_URL,
          `/internal/customers/${id}/summary`,
          tenantSummarySchema,
          options,
        ),
      ),
      this.settle('instance-service', () =>
        this.http.get(
          this.config.INSTANCE_SERVICE_URL,
          `/internal/customers/${id}/instances/count`,
          instanceCountSchema,
          options,
        ),
      ),
      this.settle('billing-service', () =>
        this.http.get(
          this.config.BILLING_SERVICE_URL,
          `/internal/customers/${id}/subscription-summary`,
          subscriptionSummarySchema,
          options,
        ),
      ),
    ]);
    if (!user) throw new NotFoundError('Account', 'ACCOUNT_NOT_FOUND');
    return {
      ...profileView(user),
      tenant_count: tenants.value?.tenant_count ?? null,
      tenants: tenants.value?.tenants ?? null,
      instance_count: instances.value?.instance_count ?? null,
      instances_by_status: instances.value?.by_status ?? null,
      subscription_summary: subscription.value,
      warnings: [tenants.warning, instances.warning, subscription.warning].filter(
        (w): w is string => w !== null,
      ),
    };
  }
}
