import { Inject, Injectable } from '@nestjs/common';
import {
  affectedSchema,
  instanceCountSchema,
  internalUserSchema,
  InstanceCount,
  InternalUser,
  type TenantPlan,
} from '@app/contracts';
import { APP_CONFIG } from '@app/config';
import { InternalCallError, InternalHttpClient } from '@app/auth';
import { DependencyUnavailableError } from '@app/http';
import type { Config } from '../config/env';

/** user-service's internal directory: who is behind an email address. */
@Injectable()
export class UserDirectoryClient {
  constructor(
    private readonly http: InternalHttpClient,
    @Inject(APP_CONFIG) private readonly config: Config,
  ) {}

  /** null when no active account has that email. */
  async findByEmail(email: string): Promise<InternalUser | null> {
    try {
      return await this.http.get(
        this.config.USER_SERVICE_URL,
        `/internal/users/lookup?email=${encodeURIComponent(email)}`,
        internalUserSchema,
      );
    } catch (error) {
      if (error instanceof InternalCallError && error.status === 404) return null;
      throw new DependencyUnavailableError('user-service');
    }
  }
}

/** instance-service's internal API, for counts and for suspending a whole tenant. */
@Injectable()
export class InstanceServiceClient {
  constructor(
    private readonly http: InternalHttpClient,
    @Inject(APP_CONFIG) private readonly config: Config,
  ) {}

  private async call<T>(run: () => Promise<T>): Promise<T> {
    try {
      return await run();
    } catch (error) {
      if (error instanceof InternalCallError)
        throw new DependencyUnavailableError('instance-service', error.message);
      throw error;
    }
  }

  tenantInstances(tenantId: string): Promise<InstanceCount> {
    return this.call(() =>
      this.http.get(
        this.config.INSTANCE_SERVICE_URL,
        `/internal/tenants/${tenantId}/instances/count`,
        instanceCountSchema,
      ),
    );
  }

  customerInstances(customerId: string): Promise<InstanceCount> {
    return this.call(() =>
      this.http.get(
        this.config.INSTANCE_SERVICE_URL,
        `/internal/customers/${customerId}/instances/count`,
        instanceCountSchema,
      ),
    );
  }

  async setTenantSuspended(tenantId: string, suspended: boolean, reason: string): Promise<number> {
    const path = `/internal/tenants/${tenantId}/${suspended ? 'suspend' : 'resume'}`;
    const result = await this.call(() =>
      this.http.post(this.config.INSTANCE_SERVICE_URL, path, { reason }, affectedSchema),
    );
    return result.affected;
  }

  /** Lowers the tenant's instances above the plan's per-instance ceilings (returns how many changed). */
  async applyPlanCeiling(tenantId: string, plan: TenantPlan): Promise<number> {
    const result = await this.call(() =>
      this.http.put(
        this.config.INSTANCE_SERVICE_URL,
        `/internal/tenants/${tenantId}/plan-ceiling`,
        { plan },
        affectedSchema,
      ),
    );
    return result.affected;
  }
}
