import { Inject, Injectable, Logger } from '@nestjs/common';
import { InternalCallError, InternalHttpClient } from '@app/auth';
import { APP_CONFIG } from '@app/config';
import {
  customerTenantSummarySchema,
  internalMembershipSchema,
  internalTenantSchema,
  quotaReservationSchema,
  type CustomerTenantSummary,
  type InternalMembership,
  type InternalTenant,
  type QuotaReservation,
} from '@app/contracts';
import { ConflictError, DependencyUnavailableError, NotFoundError } from '@app/http';
import type { Config } from '../config/env';

const TENANT_SERVICE = 'tenant-service';
/**
 * A reservation locks the tenant row, so concurrent creates in one tenant queue behind each other: it gets
 * more time than a read (INTERNAL_HTTP_TIMEOUT_MS) before the create gives up with a 503.
 */
const RESERVE_TIMEOUT_MS = 5_000;

/**
 * tenant-service's internal API (libs/contracts/src/internal-api.ts): who belongs to which tenant with which
 * role, and the atomic per-tenant instance quota. Every failure to reach it is a 503 for the caller.
 */
@Injectable()
export class TenantServiceClient {
  private readonly logger = new Logger(TenantServiceClient.name);
  private readonly baseUrl: string;

  constructor(
    private readonly http: InternalHttpClient,
    @Inject(APP_CONFIG) config: Config,
  ) {
    this.baseUrl = config.TENANT_SERVICE_URL;
  }

  /** The caller's membership of the tenant, or null when not a member (or no such tenant). */
  async membership(tenantId: string, userId: string): Promise<InternalMembership | null> {
    try {
      return await this.http.get(
        this.baseUrl,
        `/internal/tenants/${encodeURIComponent(tenantId)}/members/${encodeURIComponent(userId)}`,
        internalMembershipSchema,
      );
    } catch (error) {
      if (error instanceof InternalCallError && error.status === 404) return null;
      throw this.unavailable(error);
    }
  }

  /** The tenant (plan, status, owner), or null when there is no such live tenant. */
  async tenant(tenantId: string): Promise<InternalTenant | null> {
    try {
      return await this.http.get(
        this.baseUrl,
        `/internal/tenants/${encodeURIComponent(tenantId)}`,
        internalTenantSchema,
      );
    } catch (error) {
      if (error instanceof InternalCallError && error.status === 404) return null;
      throw this.unavailable(error);
    }
  }

  /** Every tenant the customer belongs to, with their role. */
  async tenantsOf(customerId: string): Promise<CustomerTenantSummary['tenants']> {
    try {
      const summary = await this.http.get(
        this.baseUrl,
        `/internal/customers/${encodeURIComponent(customerId)}/summary`,
        customerTenantSummarySchema,
      );
      return summary.tenants;
    } catch (error) {
      if (error instanceof InternalCallError && error.status === 404) return [];
      throw this.unavailable(error);
    }
  }

  /** Takes one instance slot of the tenant for `instanceId` (idempotent); 409 QUOTA_EXCEEDED when none is left. */
  async reserve(tenantId: string, instanceId: string): Promise<QuotaReservation> {
    try {
      return await this.http.post(
        this.baseUrl,
        `/internal/tenants/${encodeURIComponent(tenantId)}/quota/reservations`,
        { instance_id: instanceId },
        quotaReservationSchema,
        { timeoutMs: RESERVE_TIMEOUT_MS },
      );
    } catch (error) {
      if (error instanceof InternalCallError && error.status === 409) {
        throw new ConflictError('QUOTA_EXCEEDED', 'The tenant has no instance slot left in its plan', [
          { tenant_id: tenantId },
        ]);
      }
      if (error instanceof InternalCallError && error.status === 404) throw new NotFoundError('Tenant');
      throw this.unavailable(error);
    }
  }

  /** Gives the slot back (idempotent on tenant-service's side). */
  async release(tenantId: string, instanceId: string): Promise<void> {
    const path = `/internal/tenants/${encodeURIComponent(tenantId)}/quota/reservations/${encodeURIComponent(instanceId)}`;
    try {
      await this.http.delete(this.baseUrl, path);
    } catch (error) {
      if (error instanceof InternalCallError && error.status === 404) return;
      throw this.unavailable(error);
    }
  }

  private unavailable(error: unknown): DependencyUnavailableError {
    this.logger.warn({ msg: 'tenant-service call failed', error: String(error) });
    return new DependencyUnavailableError(TENANT_SERVICE, 'tenant-service is unavailable, try again shortly');
  }
}
