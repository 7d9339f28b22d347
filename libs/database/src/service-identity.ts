/** Which database and login role belong to which service: the single table the guard and setup rely on. */
export const SERVICE_DATABASES = {
  'user-service': { database: 'auth', role: 'user_service' },
  'tenant-service': { database: 'tenant', role: 'tenant_service' },
  'instance-service': { database: 'instance', role: 'instance_service' },
  'instance-worker': { database: 'instance', role: 'instance_service' },
  'billing-service': { database: 'billing', role: 'billing_service' },
} as const;

export type ServiceName = keyof typeof SERVICE_DATABASES;

/** Role names that are never acceptable as a service's login: cluster admins and Odoo provisioning. */
export const FORBIDDEN_SERVICE_ROLES = ['postgres', 'odoo_provisioner'] as const;
