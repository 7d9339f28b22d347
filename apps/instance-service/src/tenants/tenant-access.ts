import { Injectable } from '@nestjs/common';
import type { AuthenticatedUser } from '@app/auth';
import type { InternalMembership, SuspensionSource, TenantPlan, TenantStatus } from '@app/contracts';
import { ConflictError, NotFoundError } from '@app/http';
import { assertTenantPermission, type TenantPermission } from '@app/tenancy';
import { TenantServiceClient } from './tenant-service.client';

/** The tenant as tenant-service has it. */
export interface TenantState {
  status: TenantStatus;
  plan: TenantPlan;
  ownerId: string;
}

export interface TenantAccess {
  /** The caller's membership; null for a platform admin who is not a member. */
  membership: InternalMembership | null;
  /** Suspensions this caller records (`suspend`) and may lift (`unsuspend`). */
  suspensionSource: Extract<SuspensionSource, 'customer' | 'admin'>;
  mayLift: readonly SuspensionSource[];
}

/** 409 TENANT_SUSPENDED: nothing of a suspended tenant may be started, changed or copied. */
export class TenantSuspendedError extends ConflictError {
  constructor(what: string) {
    super('TENANT_SUSPENDED', `The tenant is suspended; ${what}`);
  }
}

/**
 * Who may do what with a tenant's instances: the caller's role in the tenant (tenant-service) against the
 * shared permission table of @app/tenancy. Not a member: 404 (nothing is revealed); a role without the
 * permission (a viewer acting): 403. Platform admins may do everything, and their suspensions are `admin`.
 */
@Injectable()
export class TenantAccessPolicy {
  constructor(private readonly tenants: TenantServiceClient) {}

  async check(
    user: AuthenticatedUser,
    tenantId: string,
    permission: TenantPermission,
    resource: 'Tenant' | 'Instance',
  ): Promise<TenantAccess> {
    const isPlatformAdmin = user.role === 'admin';
    const membership = await this.tenants.membership(tenantId, user.id);
    assertTenantPermission(membership?.role ?? null, permission, { isPlatformAdmin, resource });
    return {
      membership,
      suspensionSource: isPlatformAdmin ? 'admin' : 'customer',
      mayLift: isPlatformAdmin ? ['customer', 'admin'] : ['customer'],
    };
  }

  /** Plan, status and owner: from the membership, or read from tenant-service for an admin (404 if gone). */
  async tenantState(
    tenantId: string,
    access: TenantAccess,
    resource: 'Tenant' | 'Instance',
  ): Promise<TenantState> {
    const { membership } = access;
    if (membership) {
      return { status: membership.tenant_status, plan: membership.plan, ownerId: membership.owner_id };
    }
    const found = await this.tenants.tenant(tenantId);
    if (!found) throw new NotFoundError(resource);
    return { status: found.status, plan: found.plan, ownerId: found.owner_id };
  }

  /** Ids of the tenants the caller belongs to (any role). */
  async tenantIdsOf(user: AuthenticatedUser): Promise<string[]> {
    return (await this.tenants.tenantsOf(user.id)).map((tenant) => tenant.id);
  }
}
