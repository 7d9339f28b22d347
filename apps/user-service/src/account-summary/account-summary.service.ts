import { Inject, Injectable, Logger } from '@nestjs/common';
import { InternalCallError, InternalHttpClient } from '@app/auth';
import type { AuthenticatedUser } from '@app/auth';
import { APP_CONFIG } from '@app/config';
import {
  customerSubscriptionSummarySchema,
  customerTenantSummarySchema,
  instanceCountSchema,
} from '@app/contracts';
import { NotFoundError } from '@app/http';
import type { Config } from '../config/env';
import { profileView } from '../users/user.views';
import { UsersRepository } from '../users/users.repository';
import { AccountSummary } from './account-summary.view';

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
          customerTenantSummarySchema,
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
          customerSubscriptionSummarySchema,
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
