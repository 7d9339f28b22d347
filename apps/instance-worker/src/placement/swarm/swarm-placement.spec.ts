import type Docker from 'dockerode';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createDockerClient, DockerRuntime } from '../docker/docker-runtime';
import {
  cleanUp,
  describePlacementContract,
  fixture,
  testConfig,
  waitUntil,
} from '../placement-backend.contract';
import { SwarmPlacement } from './swarm-placement';

/*
 * The contract on the single-node swarm of the test engine (scripts/swarm-init.sh, run by scripts/test.sh),
 * then what only a swarm does: Traefik labels on the service, node-label constraints, forced updates and
 * `unschedulable` when the only eligible node is drained.
 */

function swarmBackend(docker: Docker): SwarmPlacement {
  return new SwarmPlacement(
    new DockerRuntime(docker),
    docker,
    testConfig({ ORCHESTRATOR: 'swarm', SWARM_ENCRYPT_NETWORKS: 'true' }),
  );
}

describePlacementContract('swarm', async () => {
  const docker = createDockerClient();
  return {
    backend: swarmBackend(docker),
    docker,
    removeBehindBack: async (handle) => {
      await docker.getService(handle).remove();
    },
  };
});

describe('swarm backend only', () => {
  const f = fixture();
  const docker = createDockerClient();
  const backend = swarmBackend(docker);
  let nodeId = '';

  async function setNode(change: (spec: { Availability: string; Labels: Record<string, string> }) => void) {
    const node = (await docker.getNode(nodeId).inspect()) as {
      Version: { Index: number };
      Spec: { Availability: string; Labels: Record<string, string>; Role: string };
    };
    const spec = { ...node.Spec, Labels: { ...(node.Spec.Labels ?? {}) } };
    change(spec);
    await docker.getNode(nodeId).update({ version: node.Version.Index, ...spec });
  }

  beforeAll(async () => {
    await backend.ping();
    nodeId = ((await docker.info()) as { Swarm: { NodeID: string } }).Swarm.NodeID;
    await backend.ensureNetwork(f.network, { 'saasodoo.test.run': f.run, 'saasodoo.managed': 'true' });
  }, 60_000);

  afterAll(async () => {
    await setNode((spec) => {
      spec.Availability = 'active';
      delete spec.Labels[`saasodoo.test.${f.run}`];
    }).catch(() => undefined);
    await cleanUp(docker, f.run);
  }, 60_000);

  it('puts the Traefik labels, limits, reservations, health check and hardening on the service', async () => {
    const spec = f.spec('labels');
    const handle = await backend.deploy(spec);
    const service = (await docker.getService(handle).inspect()) as {
      Spec: {
        Labels: Record<string, string>;
        Mode: { Replicated: { Replicas: number } };
        TaskTemplate: {
          ContainerSpec: { CapabilityDrop: string[]; Healthcheck: { StartPeriod: number } };
          Resources: { Limits: { MemoryBytes: number }; Reservations: { MemoryBytes: number } };
          RestartPolicy: { Condition: string };
        };
      };
    };
    expect(service.Spec.Labels).toMatchObject({
      'traefik.enable': 'true',
      'traefik.swarm.network': f.network,
      [`traefik.http.routers.sotest-labels-${f.run}.rule`]: `Host(\`labels-${f.run}.test.invalid\`)`,
      [`traefik.http.services.sotest-labels-${f.run}.loadbalancer.server.port`]: '8069',
    });
    expect(service.Spec.Mode.Replicated.Replicas).toBe(0);
    expect(service.Spec.TaskTemplate.RestartPolicy.Condition).toBe('any');
    expect(service.Spec.TaskTemplate.ContainerSpec.CapabilityDrop).toEqual(['ALL']);
    expect(service.Spec.TaskTemplate.ContainerSpec.Healthcheck.StartPeriod).toBe(60_000 * 1_000_000);
    expect(service.Spec.TaskTemplate.Resources.Limits.MemoryBytes).toBe(256 * 1024 * 1024);
    expect(service.Spec.TaskTemplate.Resources.Reservations.MemoryBytes).toBe(64 * 1024 * 1024);
    const network = await docker.getNetwork(f.network).inspect();
    expect(network).toMatchObject({ Driver: 'overlay', Attachable: true });
    await backend.remove(handle);
  }, 60_000);

  it('restart is a forced update that survives a concurrent writer (update out of sequence)', async () => {
    const spec = f.spec('force');
    await backend.ensureStorage(spec.storage, spec.labels);
    const handle = await backend.deploy(spec);
    await backend.scale(handle, 1, 2);
    await backend.waitReady(handle, { timeoutMs: 60_000 });
    // Two writers at once: each reads the version and retries when the other got in first.
    await Promise.all([
      backend.restart(handle, 2),
      backend.updateResources(handle, { memoryBytes: 300 * 1024 * 1024, nanoCpus: 500_000_000, pids: 128 }),
    ]);
    const service = (await docker.getService(handle).inspect()) as {
      Spec: { TaskTemplate: { ForceUpdate: number; Resources: { Limits: { MemoryBytes: number } } } };
    };
    expect(service.Spec.TaskTemplate.ForceUpdate).toBe(1);
    expect(service.Spec.TaskTemplate.Resources.Limits.MemoryBytes).toBe(300 * 1024 * 1024);
    await backend.waitReady(handle, { timeoutMs: 60_000 });
    await backend.remove(handle);
    await backend.removeStorage(spec.storage);
  }, 120_000);

  it('places by node labels: unschedulable until a node carries the label', async () => {
    const label = `saasodoo.test.${f.run}`;
    const spec = f.spec('label', { placement: { nodeLabels: { [label]: 'yes' } } });
    const handle = await backend.deploy(spec);
    await backend.scale(handle, 1, 2);
    const ref = { instanceId: spec.instanceId, name: spec.name, handle };
    await waitUntil('unschedulable', async () => (await backend.observe(ref)).state === 'unschedulable');
    await setNode((node) => {
      node.Labels[label] = 'yes';
    });
    await backend.waitReady(handle, { timeoutMs: 60_000 });
    expect((await backend.observe(ref)).state).toBe('running');
    await backend.remove(handle);
    await backend.removeStorage(spec.storage);
  }, 120_000);

  it('shows unschedulable when the only eligible node is drained, and runs again once it is active', async () => {
    const spec = f.spec('drain');
    const { node } = await backend.ensureStorage(spec.storage, spec.labels);
    expect(node).toBe(nodeId);
    const pinned = f.spec('drain', {
      storage: {
        kind: 'local-volume',
        volume: `sotest_vol_drain_${f.run}`,
        mountPath: '/var/lib/odoo',
        node,
      },
    });
    const handle = await backend.deploy(pinned);
    const service = (await docker.getService(handle).inspect()) as {
      Spec: { TaskTemplate: { Placement: { Constraints: string[] } } };
    };
    expect(service.Spec.TaskTemplate.Placement.Constraints).toContain(`node.id==${nodeId}`);
    await backend.scale(handle, 1, 2);
    await backend.waitReady(handle, { timeoutMs: 60_000 });
    const ref = { instanceId: pinned.instanceId, name: pinned.name, handle };
    try {
      await setNode((n) => {
        n.Availability = 'drain';
      });
      await waitUntil('unschedulable', async () => (await backend.observe(ref)).state === 'unschedulable');
    } finally {
      await setNode((n) => {
        n.Availability = 'active';
      });
    }
    await backend.waitReady(handle, { timeoutMs: 60_000 });
    expect((await backend.observe(ref)).state).toBe('running');
    await backend.remove(handle);
    await backend.removeStorage(pinned.storage);
  }, 180_000);

  it('replaces an unused local bridge of the tenant network name with an overlay (shared engine)', async () => {
    const name = `sotest_net_bridge_${f.run}`;
    await docker.createNetwork({ Name: name, Driver: 'bridge', Labels: { 'saasodoo.test.run': f.run } });
    expect(await backend.networkExists(name)).toBe(false);
    await backend.ensureNetwork(name, { 'saasodoo.test.run': f.run });
    // Swarm-scoped now (a network not yet instantiated on this node may inspect without its driver name).
    expect(await docker.getNetwork(name).inspect()).toMatchObject({ Scope: 'swarm' });
    expect(await backend.networkExists(name)).toBe(true);
    expect(await backend.releaseNetwork(name)).toBe('removed');
  }, 60_000);

  it('with shared storage: a bind mount under the shared path and no node pin (free to move)', async () => {
    const hostPath = join(mkdtempSync(join(tmpdir(), 'sotest-shared-')), 'instances', f.run);
    const spec = f.spec('shared', { storage: { kind: 'shared-path', hostPath, mountPath: '/var/lib/odoo' } });
    expect(await backend.ensureStorage(spec.storage, spec.labels)).toEqual({ node: null });
    const handle = await backend.deploy(spec);
    const service = (await docker.getService(handle).inspect()) as {
      Spec: {
        TaskTemplate: {
          Placement: { Constraints?: string[] };
          ContainerSpec: { Mounts: { Type: string; Source: string }[] };
        };
      };
    };
    expect(service.Spec.TaskTemplate.Placement.Constraints ?? []).toEqual([]);
    expect(service.Spec.TaskTemplate.ContainerSpec.Mounts).toEqual([
      expect.objectContaining({ Type: 'bind', Source: hostPath }),
    ]);
    await backend.scale(handle, 1, 2);
    await backend.waitReady(handle, { timeoutMs: 60_000 });
    // The instance writes its data under the shared path (the stub makes sessions/ at boot).
    expect(existsSync(join(hostPath, 'sessions'))).toBe(true);
    await backend.remove(handle);
    await backend.removeStorage(spec.storage);
    expect(existsSync(hostPath)).toBe(false);
  }, 120_000);

  it('lists nodes with availability, labels and reserved against total capacity', async () => {
    const nodes = await backend.nodes();
    const self = nodes.find((n) => n.id === nodeId);
    expect(self).toMatchObject({ role: 'manager', availability: 'active', state: 'ready' });
    expect(self?.total.memoryBytes).toBeGreaterThan(0);
    expect(self?.total.nanoCpus).toBeGreaterThan(0);
  });
});
