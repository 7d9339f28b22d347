import { Inject, Injectable } from '@nestjs/common';
import { z } from 'zod';
import { APP_CONFIG } from '@app/config';
import {
  DESIRED_STATES,
  DesiredState,
  INSTANCE_STATUSES,
  InstanceLimits,
  InternalInstanceState,
  SUSPENSION_SOURCES,
  type SuspensionSource,
} from '@app/contracts';
import type { Config } from '../config/env';
import { InternalApiClient } from './internal-api.client';

const instanceStateSchema = z.looseObject({
  id: z.string(),
  tenant_id: z.string(),
  status: z.enum(INSTANCE_STATUSES),
  desired_state: z.enum(DESIRED_STATES),
  cpu_limit: z.number().optional(),
  memory_limit: z.string().optional(),
  storage_limit: z.string().optional(),
  suspension_sources: z.array(z.enum(SUSPENSION_SOURCES)).optional(),
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

  constructor(
    @Inject(APP_CONFIG) config: Config,
    private readonly api: InternalApiClient,
  ) {
    this.baseUrl = config.INSTANCE_SERVICE_URL;
  }

  /** GET /internal/instances/{id}; null when unknown. */
  async get(instanceId: string): Promise<BillingInstanceView | null> {
    return this.api.call('GET', this.baseUrl, `/internal/instances/${instanceId}`, instanceStateSchema, {
      allowNotFound: true,
    });
  }

  /** PUT /internal/instances/{id}/desired-state (idempotent). */
  async setDesiredState(
    instanceId: string,
    desired: DesiredState,
    reason: string,
  ): Promise<InternalInstanceState> {
    const result = await this.api.call(
      'PUT',
      this.baseUrl,
      `/internal/instances/${instanceId}/desired-state`,
      instanceStateSchema,
      { body: { desired_state: desired, reason, actor: 'billing-service' }, allowNotFound: true },
    );
    if (!result) throw new InstanceNotFoundError(instanceId);
    return result;
  }

  /** PUT /internal/instances/{id}/limits: the instance follows its plan's entitlements. */
  async setLimits(instanceId: string, limits: InstanceLimits): Promise<void> {
    const result = await this.api.call(
      'PUT',
      this.baseUrl,
      `/internal/instances/${instanceId}/limits`,
      z.unknown(),
      { body: limits, allowNotFound: true },
    );
    if (result === null) throw new InstanceNotFoundError(instanceId);
  }
}
