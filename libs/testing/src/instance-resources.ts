import Docker from 'dockerode';
import { adminQuery, adminSql } from './admin-sql';

const docker = new Docker({ socketPath: '/var/run/docker.sock' });

/** Containers, volumes, tenant networks, Odoo databases and roles of these instances (if any exist). */
export async function removeInstanceResources(
  instances: { id: string; database_name: string }[],
  tenantIds: string[],
): Promise<void> {
  const labels = [
    ...tenantIds.map((t) => `saasodoo.tenant.id=${t}`),
    ...instances.flatMap((i) => [`saasodoo.instance.id=${i.id}`, `saasodoo.oneshot.instance=${i.id}`]),
  ];
  for (const label of labels) {
    for (const c of await docker.listContainers({ all: true, filters: { label: [label] } })) {
      await docker
        .getContainer(c.Id)
        .remove({ force: true, v: true })
        .catch(() => undefined);
    }
  }
  for (const instance of instances) {
    const { Volumes } = await docker.listVolumes({
      filters: { label: [`saasodoo.instance.id=${instance.id}`] },
    });
    for (const v of Volumes ?? [])
      await docker
        .getVolume(v.Name)
        .remove()
        .catch(() => undefined);
    await adminSql(`DROP DATABASE IF EXISTS "${instance.database_name}" WITH (FORCE)`);
    const role = `odoo_${instance.id.replace(/-/g, '')}`;
    // Other databases the role owns (a backup's test restore, a restore's new/old copy) go first.
    for (const { datname } of await adminQuery<{ datname: string }>(
      `SELECT datname FROM pg_database WHERE pg_get_userbyid(datdba) = '${role}'`,
    )) {
      await adminSql(`DROP DATABASE IF EXISTS "${datname}" WITH (FORCE)`);
    }
    await adminSql(`DROP ROLE IF EXISTS "${role}"`);
  }
  // By label and id: concurrent provisioning can leave several networks with the same name.
  for (const tenantId of tenantIds) {
    for (const network of await docker.listNetworks({
      filters: { label: [`saasodoo.tenant.id=${tenantId}`] },
    })) {
      await docker
        .getNetwork(network.Id)
        .remove()
        .catch(() => undefined);
    }
  }
}
