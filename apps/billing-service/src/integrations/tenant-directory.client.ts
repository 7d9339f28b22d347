import { Inject, Injectable } from '@nestjs/common';
import { InternalHttpClient, InternalRequestOptions } from '@app/auth';
import { APP_CONFIG } from '@app/config';
import { CustomerTenantSummary } from '@app/contracts';
import type { Config } from '../config/env';
import { customerTenantSummarySchema } from '@app/contracts';
import { internalCallOptions, orNotFound } from './internal-call';

export type CustomerTenant = CustomerTenantSummary['tenants'][number];

/** tenant-service's internal API: which tenants a customer belongs to, with which role. */
@Injectable()
export class TenantDirectoryClient {
  private readonly baseUrl: string;
  private readonly options: InternalRequestOptions;

  constructor(
    @Inject(APP_CONFIG) config: Config,
    private readonly http: InternalHttpClient,
  ) {
    this.baseUrl = config.TENANT_SERVICE_URL;
    this.options = internalCallOptions(config);
  }

  /** GET /internal/customers/{id}/summary; an unknown customer has no tenants. */
  async tenantsOf(customerId: string): Promise<CustomerTenant[]> {
    const summary = await orNotFound(
      this.http.get(
        this.baseUrl,
        `/internal/customers/${customerId}/summary`,
        customerTenantSummarySchema,
        this.options,
      ),
    );
    return summary?.tenants ?? [];
  }
}
