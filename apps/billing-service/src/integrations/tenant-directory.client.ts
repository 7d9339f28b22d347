import { Inject, Injectable } from '@nestjs/common';
import { z } from 'zod';
import { APP_CONFIG } from '@app/config';
import { CustomerTenantSummary, TENANT_PLANS, TENANT_ROLES, TENANT_STATUSES } from '@app/contracts';
import type { Config } from '../config/env';
import { InternalApiClient } from './internal-api.client';

const summarySchema = z.looseObject({
  tenant_count: z.number(),
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

export type CustomerTenant = CustomerTenantSummary['tenants'][number];

/** tenant-service's internal API: which tenants a customer belongs to, with which role. */
@Injectable()
export class TenantDirectoryClient {
  private readonly baseUrl: string;

  constructor(
    @Inject(APP_CONFIG) config: Config,
    private readonly api: InternalApiClient,
  ) {
    this.baseUrl = config.TENANT_SERVICE_URL;
  }

  /** GET /internal/customers/{id}/summary; an unknown customer has no tenants. */
  async tenantsOf(customerId: string): Promise<CustomerTenant[]> {
    const summary = await this.api.call(
      'GET',
      this.baseUrl,
      `/internal/customers/${customerId}/summary`,
      summarySchema,
      { allowNotFound: true },
    );
    return summary?.tenants ?? [];
  }
}
