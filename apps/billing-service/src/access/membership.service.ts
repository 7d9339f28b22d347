import { Injectable } from '@nestjs/common';
import type { AuthenticatedUser } from '@app/auth';
import { DependencyUnavailableError, ForbiddenError, NotFoundError } from '@app/http';
import { CustomerTenant, TenantDirectoryClient } from '../integrations/tenant-directory.client';

/**
 * Which tenants a customer may see and manage, as tenant-service says (membership is tenant-service's).
 * Someone else's subscription is a 404; a viewer may read but not change billing.
 */
@Injectable()
export class MembershipService {
  constructor(private readonly tenants: TenantDirectoryClient) {}

  async tenantsOf(user: Pick<AuthenticatedUser, 'id'>): Promise<CustomerTenant[]> {
    try {
      return (await this.tenants.tenantsOf(user.id)).filter((t) => t.status !== 'deleted');
    } catch (error) {
      throw new DependencyUnavailableError(
        'tenant-service',
        `cannot read tenant memberships: ${error instanceof Error ? error.message : String(error)}`,
      );
    }
  }

  /** The tenants to show: all of the customer's, or the one asked for (404 if not theirs). */
  async visibleTenants(user: AuthenticatedUser, tenantId?: string): Promise<CustomerTenant[]> {
    const tenants = await this.tenantsOf(user);
    if (!tenantId) return tenants;
    const tenant = tenants.find((t) => t.id === tenantId);
    if (!tenant) throw new NotFoundError('Tenant');
    return [tenant];
  }

  async require(
    user: AuthenticatedUser,
    tenantId: string,
    resource: string,
    access: 'view' | 'manage',
  ): Promise<CustomerTenant> {
    const tenant = (await this.tenantsOf(user)).find((t) => t.id === tenantId);
    if (!tenant) throw new NotFoundError(resource);
    if (access === 'manage' && tenant.role === 'viewer') {
      throw new ForbiddenError(
        'TENANT_ROLE_REQUIRED',
        'Only the owner or an admin of the tenant can do this',
      );
    }
    return tenant;
  }
}
