import { readFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { InstanceBackupsRepository } from '@app/instance-data';
import { InstanceLogsClient, PlacementNodesStore } from '@app/queue';
import { docker, LifecycleTestKit, waitFor } from './support/worker-harness';

/*
 * ORCHESTRATOR=swarm end to end through the real worker (AppModule) on the single-node swarm of the test
 * engine (scripts/swarm-init.sh): create → running → stop → start → backup → terminate and purge, each
 * checked on the swarm itself (service, replicas, task) as well as on the row.
 */

const sha256 = (path: string): string => createHash('sha256').update(readFileSync(path)).digest('hex');

interface ServiceView {
  ID: string;
  Spec: {
    Name: string;
    Labels: Record<string, string>;
    Mode: { Replicated: { Replicas: number } };
    TaskTemplate: { Placement?: { Constraints?: string[] } };
  };
}

async function servicesOf(instanceId: string): Promise<ServiceView[]> {
  return (await docker.listServices({
    filters: { label: [`saasodoo.instance.id=${instanceId}`] },
  })) as unknown as ServiceView[];
}

async function runningTasks(serviceId: string): Promise<number> {
  const tasks = (await docker.listTasks({ filters: { service: [serviceId] } })) as {
    Status: { State: string };
  }[];
  return tasks.filter((t) => t.Status.State === 'running').length;
}

describe('ORCHESTRATOR=swarm through the worker (single-node swarm)', () => {
  const kit = new LifecycleTestKit({ ORCHESTRATOR: 'swarm', SWARM_ENCRYPT_NETWORKS: 'true' });
  const nodeId = async (): Promise<string> =>
    ((await docker.info()) as { Swarm: { NodeID: string } }).Swarm.NodeID;

  beforeAll(async () => {
    await kit.startWorker();
  }, 60_000);

  afterAll(async () => {
    // Services first: the kit removes containers, which a service would only start again.
    for (const id of kit.instanceIds) {
      for (const service of await servicesOf(id))
        await docker
          .getService(service.ID)
          .remove()
          .catch(() => undefined);
    }
    await kit.cleanup();
  }, 90_000);

  it('creates, stops, starts, backs up and terminates an instance as a swarm service', async () => {
    const created = await kit.create();
    let row = await kit.waitForStatus(created.id, 'running', 90_000);
    const [service, ...others] = await servicesOf(row.id);
    expect(others).toHaveLength(0);
    expect(service?.ID).toBe(row.containerId);
    expect(service?.Spec.Name).toBe(kit.names(row).container);
    expect(service?.Spec.Mode.Replicated.Replicas).toBe(1);
    expect(service?.Spec.Labels).toMatchObject({
      'saasodoo.instance.id': row.id,
      'traefik.enable': 'true',
      'traefik.swarm.network': `saasodoo_tenant_${row.tenantId}`,
    });
    // The local volume's node is recorded and the service pinned to it.
    expect(row.placementNode).toBe(await nodeId());
    expect(service?.Spec.TaskTemplate.Placement?.Constraints).toContain(`node.id==${row.placementNode}`);
    expect(row.hostPort).toBeNull();
    expect(row.internalUrl).toBe(`http://${kit.names(row).container}:8069`);
    expect((await docker.getNetwork(`saasodoo_tenant_${row.tenantId}`).inspect()).Driver).toBe('overlay');
    expect(await runningTasks(row.containerId ?? '')).toBe(1);

    const logs = await kit.app.app.get(InstanceLogsClient).fetch(row.id, 20);
    expect(logs.ok && logs.logs).toContain('odoo-stub: ready');

    await kit.act(row.id, 'stop');
    row = await kit.waitForStatus(row.id, 'stopped', 60_000);
    const [stopped] = await servicesOf(row.id);
    expect(stopped?.Spec.Mode.Replicated.Replicas).toBe(0);
    expect(await runningTasks(row.containerId ?? '')).toBe(0);

    await kit.act(row.id, 'start');
    row = await kit.waitForStatus(row.id, 'running', 60_000);
    expect(await runningTasks(row.containerId ?? '')).toBe(1);

    await kit.act(row.id, 'backup');
    row = await kit.waitForOperation(row.id, 'running', 90_000);
    expect(row.lastError).toBeNull();
    const [backup] = await kit.app.app.get(InstanceBackupsRepository).listForInstance(row.id);
    expect(backup).toMatchObject({ status: 'completed' });
    expect(sha256(backup?.filestorePath ?? '')).toBe(backup?.filestoreSha256);
    // The data came out through a job on the instance's node, which is gone again.
    expect(
      (await docker.listServices({ filters: { label: ['saasodoo.job=true'] } })).filter((s) =>
        s.Spec?.Name?.startsWith(kit.names(row).container),
      ),
    ).toEqual([]);

    await kit.act(row.id, 'terminate');
    row = await waitFor(
      'purge',
      async () => {
        const r = await kit.get(row.id);
        return r.purgedAt ? r : null;
      },
      90_000,
    );
    expect(row.status).toBe('terminated');
    expect(await servicesOf(row.id)).toEqual([]);
    expect(await kit.volumesOf(row.id)).toEqual([]);
    expect(await kit.pgObjects(row)).toEqual({ databases: 0, roles: 0 });
  }, 300_000);

  it('publishes the swarm nodes with their reserved and total capacity for GET /admin/nodes', async () => {
    const self = await nodeId();
    const snapshot = await waitFor(
      'a node snapshot',
      async () => kit.app.app.get(PlacementNodesStore).latest(),
      30_000,
    );
    expect(snapshot.orchestrator).toBe('swarm');
    const node = snapshot.nodes.find((n) => n.id === self);
    expect(node).toMatchObject({ role: 'manager', availability: 'active', state: 'ready' });
    expect(node?.cpus.total).toBeGreaterThan(0);
    expect(node?.memory_bytes.total).toBeGreaterThan(0);
  }, 60_000);

  it('records a service removed behind the platform’s back as container_missing (drift)', async () => {
    const created = await kit.create();
    const row = await kit.waitForStatus(created.id, 'running', 90_000);
    await docker.getService(row.containerId ?? '').remove();
    const drifted = await kit.waitForStatus(row.id, 'container_missing', 30_000);
    expect(drifted.statusReason).toMatch(/swarm service remove/);
  }, 150_000);
});
