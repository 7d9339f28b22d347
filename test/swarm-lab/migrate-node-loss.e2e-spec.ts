import { execFile } from 'node:child_process';
import { copyFile, mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { InstanceBackupsRepository, type InstanceEntity } from '@app/instance-data';
import { SwarmLab, type SwarmLabNode, waitFor } from '@app/testing';
import {
  assertWorkerBuilt,
  killWorkerProcess,
  LifecycleTestKit,
  startWorkerProcess,
} from '../../apps/instance-worker/test/support/worker-harness';

/**
 * Moving instances between the nodes of a real three-node swarm (libs/testing SwarmLab) through the real
 * worker (ORCHESTRATOR=swarm, DOCKER_HOST = the lab manager): `migrate` of a local-volume instance (its data
 * on the target node, running there, the old volume gone), and node loss (a node's dockerd SIGKILLed: the
 * local-volume instance on it `unschedulable`, a shared-storage one rescheduled and `running`, then the
 * local-volume one migrated to a live node from its latest backup).
 *
 * Nodes 2 and 3 carry `saasodoo.role=odoo`, so instances never land on the manager (node 1), which must
 * stay alive. Removing a volume on another node is a job there with that node's socket and a `docker` CLI
 * image, built here from the host's static `docker` binary on top of the stand-in image.
 */

jest.setTimeout(300_000);

const STUB = 'saasodoo/odoo-stub:17.0';
const TOOLS = 'saasodoo/docker-cli:test';
const run = promisify(execFile);

async function buildToolsImage(): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'saasodoo-docker-cli-'));
  try {
    const { stdout } = await run('sh', ['-c', 'command -v docker']);
    await copyFile(stdout.trim(), join(dir, 'docker'));
    await writeFile(join(dir, 'Dockerfile'), `FROM ${STUB}\nCOPY docker /usr/local/bin/docker\nUSER 0\n`);
    await run('docker', ['build', '-q', '-t', TOOLS, dir], {
      env: { ...process.env, DOCKER_BUILDKIT: '0' },
      maxBuffer: 16 * 1024 * 1024,
    });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

describe('migrate and node loss through the worker on a three-node swarm (SwarmLab)', () => {
  let lab: SwarmLab;
  let local: LifecycleTestKit;
  let shared: LifecycleTestKit;
  const started = Date.now();

  function log(message: string): void {
    console.log(`[migrate-node-loss +${((Date.now() - started) / 1000).toFixed(1)} s] ${message}`);
  }

  function labNode(id: string | null): SwarmLabNode {
    const found = lab.nodes.find((n) => n.id === id);
    if (!found) throw new Error(`no lab node ${id}`);
    return found;
  }

  function workerEnv(extra: Record<string, string>): Record<string, string> {
    return {
      ORCHESTRATOR: 'swarm',
      DOCKER_HOST: lab.manager.dockerHost,
      ODOO_DB_HOST_FOR_CONTAINERS: lab.postgres?.host ?? '',
      // The lab's kernel has no ESP/AES-GCM (libs/testing/src/swarm-lab/README.md): plain overlays.
      SWARM_ENCRYPT_NETWORKS: 'false',
      TENANT_NETWORK_PEERS: '',
      PUBLISH_INSTANCE_PORTS: 'false',
      PROVISION_HEALTH_TIMEOUT_MS: '30000',
      RECONCILE_INTERVAL_MS: '2000',
      SWARM_NODE_TOOLS_IMAGE: TOOLS,
      // Every lab dockerd has its own socket path: the job finds its node's by the node's hostname.
      SWARM_NODE_DOCKER_SOCKET: join(lab.sharedDir, 'sockets', '{{.Node.Hostname}}.sock'),
      ...extra,
    };
  }

  /** Writes `token` into the instance's volume on its node (a throwaway container there). */
  async function writeMarker(row: InstanceEntity, token: string): Promise<void> {
    const volume = local.names(row).volume;
    const out = await lab.runOnce(
      labNode(row.placementNode),
      STUB,
      ['sh', '-c', `echo ${token} > /data/marker.txt && echo ok`],
      {
        binds: [`${volume}:/data`],
      },
    );
    expect(out).toMatchObject({ exitCode: 0, output: expect.stringContaining('ok') });
  }

  async function readMarker(node: SwarmLabNode, row: InstanceEntity): Promise<string> {
    const out = await lab.runOnce(node, STUB, ['cat', '/data/marker.txt'], {
      binds: [`${local.names(row).volume}:/data`],
    });
    return out.output.trim();
  }

  async function volumeLabels(node: SwarmLabNode, volume: string): Promise<Record<string, string> | null> {
    try {
      const info = (await node.docker.getVolume(volume).inspect()) as {
        Labels?: Record<string, string> | null;
      };
      return info.Labels ?? {};
    } catch (error) {
      if ((error as { statusCode?: number }).statusCode === 404) return null;
      throw error;
    }
  }

  async function runningOn(row: InstanceEntity): Promise<SwarmLabNode> {
    return waitFor(
      `a running task of ${row.id}`,
      async () => (row.containerId ? lab.runningNode(row.containerId) : undefined),
      60_000,
      250,
    );
  }

  async function migrate(row: InstanceEntity, node: string, kit = local): Promise<void> {
    const recorded = await kit.instances.requestMigration(row.id, node, { actor: 'test-admin' });
    await kit.enqueue(recorded);
  }

  /** Once the operation is over: running, without an error (the error shows when it is not). */
  async function migrated(id: string, kit = local): Promise<InstanceEntity> {
    const done = await waitFor(
      `the migration of ${id} to finish`,
      async () => {
        const current = await kit.get(id);
        return current.pendingOperation === null ? current : undefined;
      },
      180_000,
      250,
    );
    expect({ status: done.status, lastError: done.lastError }).toEqual({
      status: 'running',
      lastError: null,
    });
    return done;
  }

  async function leftoverJobs(): Promise<string[]> {
    const services = await lab.manager.docker.listServices({ filters: { label: ['saasodoo.job=true'] } });
    return services.map((s) => s.Spec?.Name ?? s.ID);
  }

  beforeAll(async () => {
    const stale = await SwarmLab.cleanupStale();
    if (stale.length > 0) console.warn(`swarm lab: removed labs left by dead runs: ${stale.join(', ')}`);
    await buildToolsImage();
    lab = await SwarmLab.start({
      nodes: 3,
      images: [STUB, TOOLS],
      labels: { 2: { 'saasodoo.role': 'odoo' }, 3: { 'saasodoo.role': 'odoo' } },
    });
    const sockets = join(lab.sharedDir, 'sockets');
    await mkdir(sockets);
    for (const node of lab.nodes) await symlink(node.socketPath, join(sockets, `${node.name}.sock`));
    log(`lab ${lab.id} up: ${lab.nodes.map((n) => `${n.name} (${n.role})`).join(', ')}`);
    local = new LifecycleTestKit(workerEnv({}));
    shared = new LifecycleTestKit(workerEnv({ SHARED_STORAGE_PATH: lab.sharedDir }));
    await local.startWorker();
    await shared.startWorker();
  }, 240_000);

  afterAll(async () => {
    await local?.cleanup().catch((error: unknown) => console.warn(`cleanup: ${String(error)}`));
    await shared?.cleanup().catch((error: unknown) => console.warn(`cleanup: ${String(error)}`));
    if (!lab) return;
    await lab.stop();
    log('lab stopped');
    expect(await lab.leftovers()).toEqual([]);
  }, 120_000);

  it('migrates a running local-volume instance to another node: its data comes along, the old volume is gone; a purge removes the new one there', async () => {
    const created = await local.create();
    let row = await local.waitForStatus(created.id, 'running', 120_000);
    const source = labNode(row.placementNode);
    expect(source.id).not.toBe(lab.manager.id);
    expect((await runningOn(row)).id).toBe(source.id);
    const target = lab.nodes.find((n) => n.id !== source.id && n.id !== lab.manager.id) as SwarmLabNode;
    const token = `before-move-${local.runId}`;
    await writeMarker(row, token);
    log(`instance on ${source.name}; migrating to ${target.name}`);

    const t0 = Date.now();
    await migrate(row, target.id);
    await local.waitForStatus(row.id, 'migrating', 30_000);
    row = await migrated(row.id);
    log(`migrated in ${Date.now() - t0} ms: ${row.statusReason}`);
    expect(row.placementNode).toBe(target.id);
    expect((await runningOn(row)).id).toBe(target.id);
    const service = (await lab.manager.docker.getService(row.containerId ?? '').inspect()) as {
      Spec: { TaskTemplate: { Placement: { Constraints: string[] } } };
    };
    expect(service.Spec.TaskTemplate.Placement.Constraints).toContain(`node.id==${target.id}`);
    expect(service.Spec.TaskTemplate.Placement.Constraints).not.toContain(`node.id==${source.id}`);

    const volume = local.names(row).volume;
    expect(await readMarker(target, row)).toBe(token);
    expect(await volumeLabels(target, volume)).toMatchObject({ 'saasodoo.instance.id': row.id });
    expect(await volumeLabels(source, volume)).toBeNull();
    expect(await leftoverJobs()).toEqual([]);

    const events = await local.instances.listEvents(row.id);
    expect(events.map((e) => e.toStatus)).toContain('migrating');
    expect(events.at(-1)?.reason).toMatch(
      new RegExp(`moved from node ${source.id} to node ${target.id} from backup`),
    );
    const [backup] = await local.app.app.get(InstanceBackupsRepository).listForInstance(row.id);
    expect(backup).toMatchObject({ kind: 'pre_migrate', status: 'completed' });

    // A purge removes the volume on its node too, which is not the worker's engine (the manager).
    await local.act(row.id, 'terminate');
    await waitFor('the purge', async () => (await local.get(row.id)).purgedAt !== null, 120_000, 250);
    expect(await volumeLabels(target, volume)).toBeNull();
    expect(await leftoverJobs()).toEqual([]);
  });

  it('rolls back a move whose instance does not come up on the target: old node, old volume, nothing left on the target', async () => {
    const created = await local.create();
    let row = await local.waitForStatus(created.id, 'running', 120_000);
    const source = labNode(row.placementNode);
    const target = lab.nodes.find((n) => n.id !== source.id && n.id !== lab.manager.id) as SwarmLabNode;
    const volume = local.names(row).volume;
    const token = `kept-on-rollback-${local.runId}`;
    await writeMarker(row, token);
    // On the target only, the instance's image tag names a build that never turns healthy (STUB_FAIL):
    // jobs (sh, tar) work there, the instance does not.
    const original = ((await target.docker.getImage(STUB).inspect()) as { Id: string }).Id;
    const dir = await mkdtemp(join(tmpdir(), 'saasodoo-bad-stub-'));
    try {
      await writeFile(join(dir, 'Dockerfile'), `FROM ${STUB}\nENV STUB_FAIL=1\n`);
      await run('docker', ['-H', target.dockerHost, 'build', '-q', '-t', STUB, dir], {
        env: { ...process.env, DOCKER_BUILDKIT: '0' },
      });
      await migrate(row, target.id);
      row = await waitFor(
        'the migration to be rolled back',
        async () => {
          const current = await local.get(row.id);
          return current.pendingOperation === null ? current : undefined;
        },
        180_000,
        250,
      );
    } finally {
      await target.docker.getImage(original).tag({ repo: 'saasodoo/odoo-stub', tag: '17.0' });
      await rm(dir, { recursive: true, force: true });
    }
    log(`rolled back: ${row.lastError}`);
    expect(row.status).toBe('running');
    expect(row.lastError).toMatch(new RegExp(`migration to node ${target.id} failed: .*rolled back`));
    expect(row.placementNode).toBe(source.id);
    expect((await runningOn(row)).id).toBe(source.id);
    expect(await readMarker(source, row)).toBe(token);
    expect(await volumeLabels(target, volume)).toBeNull();
    expect(await leftoverJobs()).toEqual([]);
  });

  it('refuses to move to a node that cannot take it: the instance stays where it is, nothing is left on the target', async () => {
    const created = await local.create();
    let row = await local.waitForStatus(created.id, 'running', 120_000);
    const source = labNode(row.placementNode);
    // The manager carries no saasodoo.role=odoo label: not eligible (checked again by the worker).
    await migrate(row, lab.manager.id);
    row = await local.waitForOperation(row.id, 'running', 60_000);
    expect(row.lastError).toMatch(/saasodoo\.role=odoo/);
    expect(row.placementNode).toBe(source.id);
    expect((await runningOn(row)).id).toBe(source.id);
    expect(await volumeLabels(lab.manager, local.names(row).volume)).toBeNull();
  });

  it('converges when the worker is SIGKILLed mid-migration: the next worker finishes it, nothing is left behind', async () => {
    assertWorkerBuilt();
    const crash = new LifecycleTestKit(workerEnv({}));
    await crash.openData();
    let worker = await startWorkerProcess(crash.env);
    try {
      const created = await crash.create();
      let row = await crash.waitForStatus(created.id, 'running', 120_000);
      const source = labNode(row.placementNode);
      const target = lab.nodes.find((n) => n.id !== source.id && n.id !== lab.manager.id) as SwarmLabNode;
      const volume = crash.names(row).volume;
      const token = `survives-a-crash-${crash.runId}`;
      await writeMarker(row, token);
      await migrate(row, target.id, crash);
      // Killed once the move is under way on the target (its volume made, the data going in).
      await waitFor(
        'the volume on the target',
        async () => (await volumeLabels(target, volume)) !== null,
        120_000,
        100,
      );
      await killWorkerProcess(worker);
      log(`worker SIGKILLed mid-migration (status ${(await crash.get(row.id)).status}); starting another`);
      worker = await startWorkerProcess(crash.env);
      row = await migrated(row.id, crash);
      log(`converged after the crash: ${row.statusReason}`);
      expect(row.placementNode).toBe(target.id);
      expect((await runningOn(row)).id).toBe(target.id);
      expect(await readMarker(target, row)).toBe(token);
      expect(await volumeLabels(source, volume)).toBeNull();
      expect(await leftoverJobs()).toEqual([]);
    } finally {
      await killWorkerProcess(worker);
      await crash.cleanup();
    }
  });

  it('node loss: a killed node makes its local-volume instance unschedulable, its shared-storage instance moves; the local one then migrates from its backup', async () => {
    const createdLocal = await local.create();
    let localRow = await local.waitForStatus(createdLocal.id, 'running', 120_000);
    const doomed = labNode(localRow.placementNode);
    const survivor = lab.nodes.find((n) => n.id !== doomed.id && n.id !== lab.manager.id) as SwarmLabNode;
    const token = `backed-up-${local.runId}`;
    await writeMarker(localRow, token);
    await local.act(localRow.id, 'backup');
    localRow = await local.waitForOperation(localRow.id, 'running', 120_000);

    // The shared-storage instance on the same node: the other one is drained while it is placed.
    await lab.drain(survivor);
    let sharedRow: InstanceEntity;
    try {
      const createdShared = await shared.create();
      sharedRow = await shared.waitForStatus(createdShared.id, 'running', 120_000);
    } finally {
      await lab.activate(survivor);
    }
    expect(sharedRow.placementNode).toBeNull();
    expect((await runningOn(sharedRow)).id).toBe(doomed.id);
    log(`local and shared instances on ${doomed.name}; killing its dockerd`);

    const killedAt = Date.now();
    await lab.killNode(doomed);
    await lab.waitForNodeState(doomed, 'down');
    const lost = await local.waitForStatus(localRow.id, 'unschedulable', 90_000);
    log(
      `local-volume instance unschedulable ${Date.now() - killedAt} ms after the kill: ${lost.statusReason}`,
    );
    expect(lost.desiredState).toBe('running');
    const moved = await waitFor(
      'the shared-storage instance running on the survivor',
      async () => {
        const node = sharedRow.containerId ? await lab.runningNode(sharedRow.containerId) : undefined;
        const current = await shared.get(sharedRow.id);
        return node?.id === survivor.id && current.status === 'running' ? current : undefined;
      },
      120_000,
      500,
    );
    log(`shared-storage instance running on ${survivor.name} ${Date.now() - killedAt} ms after the kill`);
    expect(moved.status).toBe('running');

    const t0 = Date.now();
    await migrate(lost, survivor.id);
    localRow = await migrated(localRow.id);
    log(`migrated from the backup in ${Date.now() - t0} ms: ${localRow.statusReason}`);
    expect(localRow.placementNode).toBe(survivor.id);
    expect((await runningOn(localRow)).id).toBe(survivor.id);
    expect(await readMarker(survivor, localRow)).toBe(token);
    const last = (await local.instances.listEvents(localRow.id)).at(-1);
    expect(last?.reason).toMatch(/from its latest backup .*cannot be reached/);
    expect(last?.reason).toMatch(/old volume stays on node/);
    expect(await leftoverJobs()).toEqual([]);
  });
});
