import { Injectable } from '@nestjs/common';
import type { AuthenticatedUser } from '@app/auth';
import type { InternalMembership } from '@app/contracts';
import { assertTenantPermission, type TenantPermission } from '@app/tenancy';
import { TenantServiceClient } from './tenant-service.client';

export interface TenantAccess {
  /** The caller's membership; null for a platform admin who is not a member. */
  membership: InternalMembership | null;
}

/**
 * Who may do what with a tenant's instances: the caller's role in the tenant (tenant-service) against the
 * shared permission table of @app/tenancy. Not a member: 404 (nothing is revealed); a role without the
 * permission (a viewer acting): 403. Platform admins may do everything.
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
    return { membership };
  }

  /** Ids of the tenants the caller belongs to (any role). */
  async tenantIdsOf(user: AuthenticatedUser): Promise<string[]> {
    return (await this.tenants.tenantsOf(user.id)).map((tenant) => tenant.id);
  }
}
