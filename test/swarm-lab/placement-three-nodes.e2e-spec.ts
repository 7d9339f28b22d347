import type Docker from 'dockerode';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { SwarmLab, type SwarmLabNode, waitFor } from '@app/testing';
import {
  createDockerClient,
  DockerRuntime,
} from '../../apps/instance-worker/src/placement/docker/docker-runtime';
import type { InstanceSpec, InstanceStorage } from '../../apps/instance-worker/src/placement/instance-spec';
import {
  fixture,
  IMAGE,
  TEST_LABEL,
  testConfig,
} from '../../apps/instance-worker/src/placement/placement-backend.contract';
import type { ObservedInstance } from '../../apps/instance-worker/src/placement/placement-backend';
import { SwarmPlacement } from '../../apps/instance-worker/src/placement/swarm/swarm-placement';

/**
 * The worker's own Swarm backend (SwarmPlacement, the class ORCHESTRATOR=swarm boots) driven against a real
 * three-node swarm (libs/testing SwarmLab: three dockerds, each in its own network namespace), with
 * DOCKER_HOST = the lab manager's socket. It shows what one node cannot: placement by reservation across
 * nodes, a shared-storage instance moving off a drained node with its data, and a local-volume instance
 * pinned to its node (unschedulable while that node is drained, running there again once it is active).
 */

jest.setTimeout(90_000);

const MIB = 1024 * 1024;

describe('worker SwarmPlacement on a three-node swarm (SwarmLab)', () => {
  const f = fixture();
  let lab: SwarmLab;
  let docker: Docker;
  let backend: SwarmPlacement;
  const started = Date.now();

  function log(message: string): void {
    console.log(`[placement-three-nodes +${((Date.now() - started) / 1000).toFixed(1)} s] ${message}`);
  }

  function nodeName(id: string | null): string {
    return lab.nodes.find((n) => n.id === id)?.name ?? `${id ?? 'none'}`;
  }

  /** An instance spec of this run, reaching Postgres where lab containers reach it. */
  function spec(name: string, overrides: Partial<InstanceSpec> = {}): InstanceSpec {
    const base = f.spec(name, overrides);
    return {
      ...base,
      env: { ...base.env, HOST: lab.postgres?.host ?? 'postgres.invalid' },
      // No proxy publishes in the lab; the health check runs inside the task.
      publishOnLoopback: false,
    };
  }

  function sharedStorage(name: string): InstanceStorage {
    return {
      kind: 'shared-path',
      hostPath: join(lab.sharedDir, 'instances', `${name}-${f.run}`),
      mountPath: '/var/lib/odoo',
    };
  }

  async function observe(s: InstanceSpec, handle: string): Promise<ObservedInstance> {
    return backend.observe({ instanceId: s.instanceId, name: s.name, handle });
  }

  async function running(s: InstanceSpec, handle: string, not?: string): Promise<string> {
    const observed = await waitFor(
      `${s.name} running${not ? ` off ${nodeName(not)}` : ''}`,
      async () => {
        const o = await observe(s, handle);
        return o.state === 'running' && o.node && o.node !== not ? o : undefined;
      },
      60_000,
      250,
    );
    return observed.node ?? '';
  }

  async function removeRunServices(): Promise<void> {
    for (const service of await docker.listServices({ filters: { label: [`${TEST_LABEL}=${f.run}`] } })) {
      await backend.remove(service.ID).catch(() => undefined);
    }
  }

  beforeAll(async () => {
    const stale = await SwarmLab.cleanupStale();
    if (stale.length > 0) console.warn(`swarm lab: removed labs left by dead runs: ${stale.join(', ')}`);
    lab = await SwarmLab.start({ nodes: 3, images: [IMAGE] });
    log(`lab ${lab.id} up: ${lab.nodes.map((n) => `${n.name} (${n.role})`).join(', ')}`);
    const config = testConfig({
      ORCHESTRATOR: 'swarm',
      DOCKER_HOST: lab.manager.dockerHost,
      SHARED_STORAGE_PATH: lab.sharedDir,
      ODOO_DB_HOST_FOR_CONTAINERS: lab.postgres?.host ?? '',
      // The lab's kernel has no ESP/AES-GCM (libs/testing/src/swarm-lab/README.md): plain overlays.
      SWARM_ENCRYPT_NETWORKS: 'false',
      TENANT_NETWORK_PEERS: '',
    });
    docker = createDockerClient(config.DOCKER_HOST);
    backend = new SwarmPlacement(new DockerRuntime(docker), docker, config);
    await backend.ping();
    await backend.ensureNetwork(f.network, { [TEST_LABEL]: f.run, 'saasodoo.managed': 'true' });
  }, 180_000);

  afterEach(async () => {
    if (!lab) return;
    await removeRunServices();
    for (const node of lab.nodes) await lab.activate(node).catch(() => undefined);
  }, 60_000);

  afterAll(async () => {
    if (!lab) return;
    await lab.stop();
    log('lab stopped');
    // Nothing of the lab (dockerds, namespaces, veths, bridge, iptables rule, mounts, directory) is left.
    expect(await lab.leftovers()).toEqual([]);
  }, 60_000);

  it('sees the three nodes through the backend, all active and ready', async () => {
    const nodes = await backend.nodes();
    expect(nodes.map((n) => n.id).sort()).toEqual(lab.nodes.map((n) => n.id).sort());
    expect(nodes.every((n) => n.availability === 'active' && n.state === 'ready')).toBe(true);
    expect(nodes.filter((n) => n.role === 'manager').map((n) => n.id)).toEqual([lab.manager.id]);
  });

  it('places by reservation: three instances that each reserve 60% of a node land on three nodes, a fourth is unschedulable', async () => {
    const t0 = Date.now();
    const cpus = Math.min(...(await backend.nodes()).map((n) => n.total.nanoCpus));
    const reserved = Math.ceil(cpus * 0.6);
    const resources = {
      limits: { memoryBytes: 256 * MIB, nanoCpus: reserved, pids: 128 },
      reservations: { memoryBytes: 64 * MIB, nanoCpus: reserved },
    };
    const specs = ['r1', 'r2', 'r3', 'r4'].map((name) =>
      spec(name, { resources, storage: sharedStorage(name) }),
    );
    const handles: string[] = [];
    for (const s of specs.slice(0, 3)) {
      await backend.ensureStorage(s.storage, s.labels);
      const handle = await backend.deploy(s);
      await backend.scale(handle, 1, 2);
      handles.push(handle);
    }
    const placed = await Promise.all(specs.slice(0, 3).map((s, i) => running(s, handles[i] ?? '')));
    log(`r1..r3 running on ${placed.map(nodeName).join(', ')} after ${Date.now() - t0} ms`);
    expect(new Set(placed).size).toBe(3);
    expect(new Set(placed)).toEqual(new Set(lab.nodes.map((n) => n.id)));
    // The capacity view counts each instance's reservation on its node.
    for (const node of await backend.nodes()) expect(node.reserved.nanoCpus).toBe(reserved);

    const fourth = specs[3] as InstanceSpec;
    await backend.ensureStorage(fourth.storage, fourth.labels);
    const handle = await backend.deploy(fourth);
    await backend.scale(handle, 1, 2);
    const refused = await waitFor(
      'the fourth instance to be unschedulable',
      async () => {
        const o = await observe(fourth, handle);
        return o.state === 'unschedulable' ? o : undefined;
      },
      30_000,
      250,
    );
    log(`r4 ${refused.state}: ${refused.detail}`);
    expect(refused).toMatchObject({
      state: 'unschedulable',
      detail: expect.stringMatching(/insufficient resources/i),
    });
    expect((await lab.tasksOf(handle)).filter((t) => t.state === 'running')).toEqual([]);
  });

  it('moves a shared-storage instance off its drained node; its data comes along', async () => {
    const t0 = Date.now();
    const s = spec('shared', { storage: sharedStorage('shared') });
    if (s.storage.kind !== 'shared-path') throw new Error('shared storage expected');
    expect(s.storage.hostPath.startsWith(`${lab.sharedDir}/`)).toBe(true);
    expect(await backend.ensureStorage(s.storage, s.labels)).toEqual({ node: null });
    const handle = await backend.deploy(s);
    await backend.scale(handle, 1, 2);
    const first = await running(s, handle);
    log(`shared instance running on ${nodeName(first)} after ${Date.now() - t0} ms`);

    // Written through the instance's storage by a swarm job, before the move.
    const token = `kept-${f.run}`;
    const write = await backend.runJob(
      f.job('write', {
        cmd: ['sh', '-c', `echo ${token} > /var/lib/odoo/marker.txt && echo written`],
        storage: s.storage,
      }),
    );
    expect(write).toMatchObject({ exitCode: 0, output: expect.stringContaining('written') });

    const drained = lab.nodes.find((n) => n.id === first) as SwarmLabNode;
    const drainedAt = Date.now();
    await lab.drain(drained);
    const second = await running(s, handle, first);
    log(
      `drained ${drained.name}: instance running on ${nodeName(second)} after ${Date.now() - drainedAt} ms`,
    );
    expect(second).not.toBe(first);
    expect(lab.nodes.map((n) => n.id)).toContain(second);

    // Read back on the node it moved to, and through the backend's copyOut.
    const newNode = lab.nodes.find((n) => n.id === second) as SwarmLabNode;
    const read = await lab.runOnce(newNode, IMAGE, ['cat', '/var/lib/odoo/marker.txt'], {
      binds: [`${s.storage.hostPath}:/var/lib/odoo`],
    });
    expect(read.output.trim()).toBe(token);
    expect((await readFile(join(s.storage.hostPath, 'marker.txt'), 'utf8')).trim()).toBe(token);
    const check = await backend.runJob(
      f.job('read', {
        cmd: ['sh', '-c', 'cat /var/lib/odoo/marker.txt; ls /var/lib/odoo'],
        storage: s.storage,
      }),
    );
    expect(check.exitCode).toBe(0);
    expect(check.output).toContain(token);
    // The instance's own boot-time data (the stub makes sessions/ at start) is there too.
    expect(check.output).toContain('sessions');
  });

  it('keeps a local-volume instance on its node: unschedulable while the node is drained, running there again with its data once active', async () => {
    const t0 = Date.now();
    const base = spec('pinned');
    const { node: home } = await backend.ensureStorage(base.storage, base.labels);
    expect(lab.nodes.map((n) => n.id)).toContain(home);
    const s = spec('pinned', {
      storage: {
        kind: 'local-volume',
        volume: `sotest_vol_pinned_${f.run}`,
        mountPath: '/var/lib/odoo',
        node: home,
      },
    });
    const handle = await backend.deploy(s);
    const service = (await docker.getService(handle).inspect()) as {
      Spec: { TaskTemplate: { Placement: { Constraints: string[] } } };
    };
    expect(service.Spec.TaskTemplate.Placement.Constraints).toContain(`node.id==${home}`);
    await backend.scale(handle, 1, 2);
    expect(await running(s, handle)).toBe(home);
    log(`local-volume instance running on its node ${nodeName(home)} after ${Date.now() - t0} ms`);

    const token = `local-${f.run}`;
    const write = await backend.runJob(
      f.job('lwrite', { cmd: ['sh', '-c', `echo ${token} > /var/lib/odoo/marker.txt`], storage: s.storage }),
    );
    expect(write.exitCode).toBe(0);
    const homeNode = lab.nodes.find((n) => n.id === home) as SwarmLabNode;
    // The volume exists on its node only.
    await homeNode.docker.getVolume(`sotest_vol_pinned_${f.run}`).inspect();
    for (const other of lab.nodes.filter((n) => n.id !== home)) {
      await expect(other.docker.getVolume(`sotest_vol_pinned_${f.run}`).inspect()).rejects.toThrow(
        /no such volume/i,
      );
    }

    const drainedAt = Date.now();
    await lab.drain(homeNode);
    const waiting = await waitFor(
      'the pinned instance to be unschedulable',
      async () => {
        const o = await observe(s, handle);
        return o.state === 'unschedulable' ? o : undefined;
      },
      30_000,
      250,
    );
    log(`drained ${homeNode.name}: ${waiting.state} after ${Date.now() - drainedAt} ms`);
    // The old task stops on the drained node, and no other node takes the instance: its task waits.
    const pending = await waitFor(
      'the task on the drained node to stop, and a new one to wait for its node',
      async () => {
        const tasks = await lab.tasksOf(handle);
        if (tasks.some((t) => t.state === 'running')) return undefined;
        return tasks.find((t) => t.desiredState === 'running' && t.state === 'pending');
      },
      30_000,
      250,
    );
    expect(pending).toMatchObject({ nodeId: '', error: expect.stringMatching(/no suitable node/) });
    expect((await observe(s, handle)).state).toBe('unschedulable');
    log(`pinned task pending: ${pending.error}`);

    const activatedAt = Date.now();
    await lab.activate(homeNode);
    expect(await running(s, handle)).toBe(home);
    log(`${homeNode.name} active: running there again after ${Date.now() - activatedAt} ms`);
    const read = await backend.runJob(
      f.job('lread', { cmd: ['cat', '/var/lib/odoo/marker.txt'], storage: s.storage }),
    );
    expect(read.output.trim()).toBe(token);
  });
});
