import type { TenantRole } from '@app/contracts';
import { ForbiddenError, NotFoundError } from '@app/http';

/** What a member of a tenant may do. One table, used by tenant-service and instance-service alike. */
export const TENANT_PERMISSIONS = [
  'tenant:read',
  'tenant:update',
  'tenant:delete',
  'members:read',
  'members:manage',
  'ownership:transfer',
  'instances:read',
  'instances:operate',
] as const;
export type TenantPermission = (typeof TENANT_PERMISSIONS)[number];

const GRANTS: Record<TenantRole, readonly TenantPermission[]> = {
  owner: TENANT_PERMISSIONS,
  admin: ['tenant:read', 'members:read', 'instances:read', 'instances:operate'],
  viewer: ['tenant:read', 'members:read', 'instances:read'],
};

export function roleAllows(role: TenantRole, permission: TenantPermission): boolean {
  return GRANTS[role].includes(permission);
}

/**
 * Checks a caller's role in a tenant. `role` is null when the caller is not a member: that is a 404
 * (another customer's tenant is not revealed), while a member lacking the permission gets 403.
 * Platform admins (`isPlatformAdmin`) may do everything.
 */
export function assertTenantPermission(
  role: TenantRole | null,
  permission: TenantPermission,
  options: { isPlatformAdmin?: boolean; resource?: string } = {},
): void {
  if (options.isPlatformAdmin) return;
  if (role === null) throw new NotFoundError(options.resource ?? 'Tenant');
  if (!roleAllows(role, permission)) {
    throw new ForbiddenError(
      'TENANT_ROLE_FORBIDDEN',
      `Your role "${role}" in this tenant does not allow ${permission}`,
    );
  }
}
