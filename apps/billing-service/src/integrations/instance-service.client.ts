import { Inject, Injectable } from '@nestjs/common';
import { z } from 'zod';
import { InternalHttpClient, InternalRequestOptions } from '@app/auth';
import { APP_CONFIG } from '@app/config';
import { DesiredState, InstanceLimits, InternalInstanceState, type SuspensionSource } from '@app/contracts';
import type { Config } from '../config/env';
import { internalInstanceStateSchema } from '@app/contracts';
import { internalCallOptions, orNotFound } from './internal-call';

/** The contract's instance state plus the limits billing compares with the plan's. */
const instanceViewSchema = internalInstanceStateSchema.extend({
  cpu_limit: z.number().optional(),
  memory_limit: z.string().optional(),
  storage_limit: z.string().optional(),
});

/** What billing reads of an instance: its state, and (from instance-service) its limits and suspensions. */
export type BillingInstanceView = InternalInstanceState &
  Partial<InstanceLimits> & { suspension_sources?: SuspensionSource[] };

/** The instance does not exist in instance-service (deleted, or not committed yet). */
export class InstanceNotFoundError extends Error {
  constructor(readonly instanceId: string) {
    super(`instance ${instanceId} is unknown to instance-service`);
    this.name = 'InstanceNotFoundError';
  }
}

/** instance-service's internal API: what billing reads and sets about an instance. */
@Injectable()
export class InstanceServiceClient {
  private readonly baseUrl: string;
  private readonly options: InternalRequestOptions;

  constructor(
    @Inject(APP_CONFIG) config: Config,
    private readonly http: InternalHttpClient,
  ) {
    this.baseUrl = config.INSTANCE_SERVICE_URL;
    this.options = internalCallOptions(config);
  }

  /** GET /internal/instances/{id}; null when unknown. */
  async get(instanceId: string): Promise<BillingInstanceView | null> {
    return orNotFound(
      this.http.get(this.baseUrl, `/internal/instances/${instanceId}`, instanceViewSchema, this.options),
    );
  }

  /** PUT /internal/instances/{id}/desired-state (idempotent). */
  async setDesiredState(
    instanceId: string,
    desired: DesiredState,
    reason: string,
  ): Promise<InternalInstanceState> {
    const result = await orNotFound(
      this.http.put(
        this.baseUrl,
        `/internal/instances/${instanceId}/desired-state`,
        { desired_state: desired, reason, actor: 'billing-service' },
        instanceViewSchema,
        this.options,
      ),
    );
    if (!result) throw new InstanceNotFoundError(instanceId);
    return result;
  }

  /** PUT /internal/instances/{id}/limits: the instance follows its plan's entitlements. */
  async setLimits(instanceId: string, limits: InstanceLimits): Promise<void> {
    const result = await orNotFound(
      this.http
        .put(this.baseUrl, `/internal/instances/${instanceId}/limits`, limits, z.unknown(), this.options)
        .then(() => true),
    );
    if (result === null) throw new InstanceNotFoundError(instanceId);
  }
}
