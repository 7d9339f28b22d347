import type { InstanceEntity } from '@app/instance-data';

/** Docker and Postgres names of an instance's resources; pure, so every retry computes the same ones. */
export interface InstanceResourceNames {
  container: string;
  volume: string;
  network: string;
  dbRole: string;
  database: string;
  router: string;
}

export function shortId(id: string): string {
  return id.replace(/-/g, '').slice(0, 8);
}

export function tenantNetworkName(tenantId: string): string {
  return `saasodoo_tenant_${tenantId}`;
}

export function resourceNames(
  instance: Pick<InstanceEntity, 'id' | 'tenantId' | 'databaseName'> &
    Partial<Pick<InstanceEntity, 'volumeName'>>,
): InstanceResourceNames {
  return {
    // As in the original (odoo_<db>_<hex8>); the monitor no longer parses names, it reads labels.
    container: `odoo_${instance.databaseName}_${shortId(instance.id)}`,
    // The recorded one when set: a restore switches the instance to a new volume.
    volume: instance.volumeName ?? `odoo_data_${instance.id}`,
    network: tenantNetworkName(instance.tenantId),
    // By instance id, not by database name: roles are cluster-wide and must never collide.
    dbRole: `odoo_${instance.id.replace(/-/g, '')}`,
    database: instance.databaseName,
    router: `odoo-${instance.id}`,
  };
}

export function imageFor(template: string, version: string): string {
  return template.replaceAll('{version}', version);
}

/** `2G` / `512M` → bytes. */
export function memoryBytes(limit: string): number {
  const match = /^([1-9][0-9]*)([MG])$/.exec(limit.trim().toUpperCase());
  if (!match) throw new Error(`invalid memory limit "${limit}"`);
  const [, amount, unit] = match;
  return Number(amount) * (unit === 'G' ? 1024 ** 3 : 1024 ** 2);
}

export function nanoCpus(cpuLimit: number): number {
  return Math.round(cpuLimit * 1e9);
}

export function publicHost(
  instance: Pick<InstanceEntity, 'subdomain' | 'databaseName'>,
  baseDomain: string,
): string {
  const label = instance.subdomain ?? instance.databaseName.toLowerCase().replace(/_/g, '-');
  return `${label}.${baseDomain}`;
}
