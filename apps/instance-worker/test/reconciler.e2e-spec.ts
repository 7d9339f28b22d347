import type Docker from 'dockerode';
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { UnrecoverableError, Worker } from 'bullmq';
import { createQueueRedis, LIFECYCLE_QUEUE_NAME, lifecycleJobId } from '@app/queue';
import { MetricsRegistry } from '@app/metrics';
import { InstanceReconciler } from '../src/lifecycle/instance-reconciler';
import { InstanceUsageMeter } from '../src/lifecycle/instance-usage-meter';
import { TenantNetworks } from '../src/lifecycle/tenant-networks';
import { docker, execIn, LifecycleTestKit, waitFor } from './support/worker-harness';

/*
 * Drift (containers changed behind the platform's back), lost work, and tenant network isolation, with
 * a fake Traefik peer on the test's own ODOO_NETWORK.
 */

/** `wget` from inside a container: exit 0 only when the HTTP request succeeded. */
async function canFetch(containerId: string, url: string, timeoutSeconds = 3): Promise<boolean> {
  const result = await execIn(containerId, ['wget', '-q', '-T', String(timeoutSeconds), '-O', '-', url]);
  return result.exitCode === 0 && result.output.includes('"pass"');
}

async function ipOn(containerId: string, network: string): Promise<string> {
  const info = await docker.getContainer(containerId).inspect();
  const ip = info.NetworkSettings.Networks[network]?.IPAddress;
  if (!ip) throw new Error(`${containerId} has no address on ${network}`);
  return ip;
}

describe('reconciler and tenant isolation (real Docker)', () => {
  const kit = new LifecycleTestKit();
  let odooNetwork: Docker.Network;
  let traefik: Docker.Container;

  beforeAll(async () => {
    // Stand-ins for the compose stack: ODOO_NETWORK with a "traefik" service on it.
    odooNetwork = await docker.createNetwork({
      Name: kit.env.ODOO_NETWORK ?? '',
      Labels: { 'saasodoo.test': kit.runId },
    });
    traefik = await docker.createContainer({
      name: `sotest-traefik-${kit.runId}`,
      Image: 'saasodoo/odoo-stub:latest',
      Cmd: ['odoo'],
      Labels: { 'com.docker.compose.service': 'traefik', 'saasodoo.test': kit.runId },
      HostConfig: { NetworkMode: kit.env.ODOO_NETWORK },
    });
    await traefik.start();
    await kit.startWorker();
  });

  afterAll(async () => {
    await traefik.remove({ force: true, v: true }).catch(() => undefined);
    await kit.cleanup();
    await odooNetwork.remove().catch(() => undefined);
  }, 60_000);

  it('keeps tenants apart: same tenant reachable, other tenant not; Traefik reaches both', async () => {
    const tenantA = randomUUID();
    const tenantB = randomUUID();
    const [a1, a2, b1] = await Promise.all([
      kit.create({ tenantId: tenantA }),
      kit.create({ tenantId: tenantA }),
      kit.create({ tenantId: tenantB }),
    ]);
    const rows = await Promise.all([a1, a2, b1].map((i) => kit.waitForStatus(i.id, 'running')));
    const [ra1, ra2, rb1] = rows;
    const netA = `saasodoo_tenant_${tenantA}`;
    const netB = `saasodoo_tenant_${tenantB}`;
    const idA1 = ra1?.containerId ?? '';
    const ipA2 = await ipOn(ra2?.containerId ?? '', netA);
    const ipB1 = await ipOn(rb1?.containerId ?? '', netB);

    // Positive controls: the probe works, and same-tenant instances may talk.
    expect(await canFetch(idA1, `http://${ipA2}:8069/web/health`)).toBe(true);
    expect(await canFetch(idA1, `http://${ra2?.containerName}:8069/web/health`)).toBe(true);
    // Another tenant's instance: neither by address nor by name.
    expect(await canFetch(idA1, `http://${ipB1}:8069/web/health`, 1)).toBe(false);
    expect(await canFetch(idA1, `http://${rb1?.containerName}:8069/web/health`, 1)).toBe(false);
    expect(await canFetch(rb1?.containerId ?? '', `http://${ipA2}:8069/web/health`, 1)).toBe(false);
    // Not through the shared peer's network either: instances are not on ODOO_NETWORK.
    const traefikInfo = await traefik.inspect();
    expect(Object.keys(traefikInfo.NetworkSettings.Networks).sort()).toEqual(
      [kit.env.ODOO_NETWORK, netA, netB].sort(),
    );
    const ipTraefikOnOdoo = traefikInfo.NetworkSettings.Networks[kit.env.ODOO_NETWORK ?? '']?.IPAddress ?? '';
    expect(await canFetch(idA1, `http://${ipTraefikOnOdoo}:8069/web/health`, 1)).toBe(false);
    // Traefik (the peer) reaches instances of both tenants, and they see it under its service name.
    expect(await canFetch(traefik.id, `http://${ipA2}:8069/web/health`)).toBe(true);
    expect(await canFetch(traefik.id, `http://${ipB1}:8069/web/health`)).toBe(true);
    expect(await canFetch(idA1, 'http://traefik:8069/web/health')).toBe(true);
  }, 60_000);

  it('follows a container stopped, started, killed and removed behind the platform’s back', async () => {
    const created = await kit.create();
    let row = await kit.waitForStatus(created.id, 'running');
    const container = docker.getContainer(row.containerId ?? '');

    await container.stop({ t: 1 });
    row = await kit.waitForStatus(row.id, 'stopped', 10_000);
    expect((await kit.instances.listEvents(row.id)).at(-1)).toMatchObject({
      action: 'drift',
      actor: 'docker',
      toStatus: 'stopped',
    });

    await container.start();
    row = await kit.waitForStatus(row.id, 'running', 10_000);

    await container.kill();
    row = await kit.waitForStatus(row.id, 'stopped', 10_000);

    await container.remove({ force: true, v: true });
    row = await kit.waitForStatus(row.id, 'container_missing', 10_000);
    expect(row.containerId).toBeNull();

    // The user starts it again: a new container on the same data.
    await kit.act(row.id, 'start');
    row = await kit.waitForStatus(row.id, 'running');
    expect(row.containerId).not.toBe(container.id);
    expect(await kit.containersOf(row.id)).toHaveLength(1);
    expect(await kit.hostPortHealth(row)).toBe(200);
  }, 60_000);

  it('never overwrites the transitional status of a job at work, nor terminated', async () => {
    const created = await kit.create();
    let row = await kit.waitForStatus(created.id, 'running');
    // As if a backup job were running (status backing_up): Docker stopping the container must not win.
    await kit.instances.transition(row.id, { from: ['running'], to: 'backing_up', actor: 'test' });
    await docker.getContainer(row.containerId ?? '').stop({ t: 1 });
    await sleep(2500); // the event and at least one sweep
    expect((await kit.get(row.id)).status).toBe('backing_up');
    await kit.instances.transition(row.id, { from: ['backing_up'], to: 'stopped', actor: 'test' });

    await kit.act(row.id, 'start');
    row = await kit.waitForStatus(row.id, 'running');
    await kit.act(row.id, 'terminate');
    await waitFor('purge', async () => ((await kit.get(row.id)).purgedAt ? true : null));
    await sleep(1500);
    expect((await kit.get(row.id)).status).toBe('terminated');
  });

  it('stops a suspended instance again when its container is started behind the platform’s back', async () => {
    const created = await kit.create();
    let row = await kit.waitForStatus(created.id, 'running');
    await kit.act(row.id, 'suspend');
    row = await kit.waitForStatus(row.id, 'suspended');
    const container = docker.getContainer(row.containerId ?? '');
    await container.start();
    await waitFor(
      'the container to be stopped again',
      async () => !(await container.inspect()).State.Running,
      10_000,
    );
    expect((await kit.get(row.id)).status).toBe('suspended');
  });

  it('re-applies a billing suspension whose desired state was set to running behind the platform’s back', async () => {
    const created = await kit.create();
    let row = await kit.waitForStatus(created.id, 'running');
    await kit.instances.requestDesiredState(row.id, 'suspended', { actor: 'billing', source: 'billing' });
    // The job is the API's to enqueue; here the sweep finds it lost and enqueues it.
    row = await kit.waitForStatus(row.id, 'suspended');
    expect(row.suspensionSources).toEqual(['billing']);
    // A write that bypasses the platform (or an event lost on the way) wants it running again.
    await kit.dataSource.query(`UPDATE instances SET desired_state = 'running' WHERE id = $1`, [row.id]);
    await kit.app.app.get(InstanceReconciler).sweep();
    row = await kit.get(row.id);
    expect(row).toMatchObject({ desiredState: 'suspended', suspensionSources: ['billing'] });
    const events = await kit.instances.listEvents(row.id, { order: 'desc', limit: 10 });
    expect(events).toContainEqual(
      expect.objectContaining({ actor: 'reconciler', action: 'desired:suspended' }),
    );
    // And the instance really stays down.
    const container = docker.getContainer(row.containerId ?? '');
    expect((await container.inspect()).State.Running).toBe(false);
  });

  it('measures each instance’s storage (volume and database), records it and exports the gauge', async () => {
    const created = await kit.create();
    const row = await kit.waitForStatus(created.id, 'running');
    await kit.app.app.get(InstanceUsageMeter).measureAll();
    const measured = await kit.get(row.id);
    expect(measured.usageMeasuredAt).toBeInstanceOf(Date);
    expect(measured.databaseBytes).toBeGreaterThan(0);
    expect(measured.storageBytes).toEqual(expect.any(Number));
    const metrics = await kit.app.app.get(MetricsRegistry).registry.metrics();
    expect(metrics).toMatch(
      new RegExp(
        `instance_storage_bytes\\{instance_id="${row.id}",kind="database"[^}]*\\} ${measured.databaseBytes}\\n`,
      ),
    );
  });

  it('removes the network of a tenant without instances (once not brand new), keeps those still needed', async () => {
    const labels = (tenantId: string) => ({ 'saasodoo.managed': 'true', 'saasodoo.tenant.id': tenantId });
    // Left behind (e.g. a crash between a purge and its release): no instance of this tenant exists.
    const orphanTenant = randomUUID();
    kit.tenantIds.add(orphanTenant);
    await docker.createNetwork({ Name: `saasodoo_tenant_${orphanTenant}`, Labels: labels(orphanTenant) });
    const exists = (name: string) =>
      docker
        .getNetwork(name)
        .inspect()
        .then(
          () => true,
          () => false,
        );
    // Too young to be judged (it may belong to an instance created after the sweep read its rows).
    await kit.app.app.get(TenantNetworks).releaseOrphans(new Set(), 60_000);
    expect(await exists(`saasodoo_tenant_${orphanTenant}`)).toBe(true);
    // Another platform's on the same engine (its own ODOO_NETWORK), empty and old enough: not this one's.
    const foreignTenant = randomUUID();
    kit.tenantIds.add(foreignTenant);
    await docker.createNetwork({
      Name: `saasodoo_tenant_${foreignTenant}`,
      Labels: { ...labels(foreignTenant), 'saasodoo.platform': 'another-platform-odoo' },
    });
    await kit.app.app.get(TenantNetworks).releaseOrphans(new Set([orphanTenant]), 0);
    expect(await exists(`saasodoo_tenant_${foreignTenant}`)).toBe(true);
    await docker.getNetwork(`saasodoo_tenant_${foreignTenant}`).remove();
    // The networks this platform makes say whose they are.
    const ownTenant = randomUUID();
    kit.tenantIds.add(ownTenant);
    await kit.app.app.get(TenantNetworks).ensure(ownTenant);
    const own = await docker.getNetwork(`saasodoo_tenant_${ownTenant}`).inspect();
    expect(own.Labels).toMatchObject({ 'saasodoo.platform': kit.env.ODOO_NETWORK });
    expect(await kit.app.app.get(TenantNetworks).releaseIfUnused(ownTenant)).toBe(true);
    // A pending instance (not entitled yet) has no container on its network, but will need it.
    const pending = kit.newInstance();
    await kit.instances.create(pending, { entitled: false, actor: 'test' });
    await docker.createNetwork({
      Name: `saasodoo_tenant_${pending.tenantId}`,
      Labels: labels(pending.tenantId),
    });
    // A container the platform does not know is on another network of this kind: never disconnected.
    const strangerTenant = randomUUID();
    kit.tenantIds.add(strangerTenant);
    await docker.createNetwork({ Name: `saasodoo_tenant_${strangerTenant}`, Labels: labels(strangerTenant) });
    const stranger = await docker.createContainer({
      name: `sotest-stranger-${kit.runId}`,
      Image: 'saasodoo/odoo-stub:latest',
      Cmd: ['odoo'],
      Labels: { 'saasodoo.test': kit.runId },
      HostConfig: { NetworkMode: `saasodoo_tenant_${strangerTenant}` },
    });
    try {
      await waitFor(
        'the orphan network removed by the sweep',
        async () => !(await exists(`saasodoo_tenant_${orphanTenant}`)) || null,
        10_000,
      );
      await kit.app.app.get(InstanceReconciler).sweep();
      expect(await exists(`saasodoo_tenant_${pending.tenantId}`)).toBe(true);
      expect(await exists(`saasodoo_tenant_${strangerTenant}`)).toBe(true);
      // Terminating the pending instance (nothing to purge) leaves its tenant without instances.
      await kit.act(pending.id, 'terminate');
      await kit.waitForStatus(pending.id, 'terminated');
      await waitFor(
        'the pending instance’s network removed',
        async () => !(await exists(`saasodoo_tenant_${pending.tenantId}`)) || null,
        10_000,
      );
    } finally {
      await stranger.remove({ force: true, v: true });
    }
  });

  it('settles an instance left backing_up by a backup job that failed for good without recording it', async () => {
    const created = await kit.create();
    const row = await kit.waitForStatus(created.id, 'running');
    await kit.openData(); // the database and queue, while no worker runs
    await kit.stopWorker(kit.app);
    const connection = createQueueRedis(kit.env.REDIS_URL ?? '', 'test-failing-worker', 'blocking');
    const failing = new Worker(LIFECYCLE_QUEUE_NAME, null, {
      connection,
      prefix: kit.env.QUEUE_PREFIX,
      autorun: false,
    });
    let jobId = '';
    try {
      const recorded = await kit.instances.requestAction(
        row.id,
        'backup',
        { kind: 'manual' },
        { actor: 'test' },
      );
      jobId = await kit.enqueue(recorded);
      await kit.instances.transition(row.id, { from: ['running'], to: 'backing_up', actor: 'test' });
      // The job dies on its last attempt before its handler could record anything (as when the database
      // was restarting while the job asked for the instance lock).
      const token = randomUUID();
      const job = await failing.getNextJob(token);
      expect(job?.id).toBe(jobId);
      await job?.moveToFailed(new UnrecoverableError('connect ECONNREFUSED 127.0.0.1:5432'), token);
      expect(await kit.queue.getJobState(jobId)).toBe('failed');
    } finally {
      await failing.close();
      connection.disconnect();
      await kit.startWorker();
    }
    // The reconciler settles it as the job's own failure record would have: as the container is.
    const settled = await waitFor('the stuck backup settled', async () => {
      const current = await kit.get(row.id);
      return current.pendingOperation === null ? current : null;
    });
    expect(settled.status).toBe('running');
    expect(settled.lastError).toContain('ECONNREFUSED');
    const events = await kit.instances.listEvents(row.id);
    expect(
      events.some((e) => e.jobId === jobId && e.fromStatus === 'backing_up' && e.toStatus === 'running'),
    ).toBe(true);
  });

  it('re-enqueues a pending operation whose job was lost', async () => {
    const created = await kit.create();
    let row = await kit.waitForStatus(created.id, 'running');
    const recorded = await kit.instances.requestAction(row.id, 'restart', {}, { actor: 'test' }); // never enqueued
    const jobId = lifecycleJobId(row.id, 'restart', recorded.job.generation);
    row = await kit.waitForOperation(row.id, 'running', 15_000);
    const events = await kit.instances.listEvents(row.id);
    expect(events.some((e) => e.jobId === jobId && e.toStatus === 'restarting')).toBe(true);
  });
});
