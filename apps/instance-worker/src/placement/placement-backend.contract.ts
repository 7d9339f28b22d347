import Docker from 'dockerode';
import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { envSchema, type Config } from '../config/env';
import {
  httpHealthCommand,
  INSTANCE_ID_LABEL,
  TENANT_LABEL,
  type InstanceSpec,
  type JobSpec,
} from './instance-spec';
import { PlacementRefusedError, type PlacementBackend, type PlacementEvent } from './placement-backend';
import { tarFiles } from './tar-entries';

/*
 * One contract, run against every backend (docker-placement.spec.ts, swarm-placement.spec.ts) on the real
 * engine with the locally built saasodoo/odoo-stub image. Everything carries saasodoo.test.run=<run>;
 * the suite ends by checking that nothing of the run is left.
 */

export const IMAGE = 'saasodoo/odoo-stub:17.0';
export const TEST_LABEL = 'saasodoo.test.run';
const MIB = 1024 * 1024;

export function testConfig(overrides: Partial<Record<keyof Config, string>> = {}): Config {
  return envSchema.parse({
    ...process.env,
    TENANT_NETWORK_PEERS: '',
    PUBLISH_INSTANCE_PORTS: 'true',
    ...overrides,
  });
}

export async function waitUntil<T>(
  what: string,
  probe: () => Promise<T | undefined | false | null>,
  timeoutMs = 30_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined && value !== false && value !== null) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(200);
  }
}

export interface ContractFixture {
  run: string;
  network: string;
  spec(name: string, overrides?: Partial<InstanceSpec>): InstanceSpec;
  job(name: string, overrides?: Partial<JobSpec>): JobSpec;
}

export function fixture(): ContractFixture {
  const run = randomBytes(4).toString('hex');
  const network = `sotest_net_${run}`;
  const labels = (instanceId: string) => ({
    [INSTANCE_ID_LABEL]: instanceId,
    [TENANT_LABEL]: `tenant-${run}`,
    [TEST_LABEL]: run,
  });
  return {
    run,
    network,
    spec: (name, overrides = {}) => ({
      instanceId: `instance-${name}-${run}`,
      name: `sotest_${name}_${run}`,
      image: IMAGE,
      cmd: ['odoo', '--database=testdb'],
      env: { HOST: 'postgres.invalid', PORT: '5432', USER: 'odoo_test', PASSWORD: 'not-a-secret' },
      labels: labels(`instance-${name}-${run}`),
      resources: {
        limits: { memoryBytes: 256 * MIB, nanoCpus: 500_000_000, pids: 128 },
        reservations: { memoryBytes: 64 * MIB, nanoCpus: 0 },
      },
      storage: { kind: 'local-volume', volume: `sotest_vol_${name}_${run}`, mountPath: '/var/lib/odoo' },
      network,
      route: { router: `sotest-${name}-${run}`, host: `${name}-${run}.test.invalid`, port: 8069, network },
      health: {
        cmd: httpHealthCommand(8069, '/web/health'),
        startPeriodMs: 60_000,
        intervalMs: 1_000,
        timeoutMs: 3_000,
        retries: 3,
      },
      placement: { nodeLabels: {} },
      publishOnLoopback: true,
      stopTimeoutSeconds: 2,
      ...overrides,
    }),
    job: (name, overrides = {}) => ({
      name: `sotest_job_${name}_${run}`,
      image: IMAGE,
      cmd: ['sh', '-c', 'echo job-ran'],
      labels: { [TEST_LABEL]: run },
      timeoutMs: 60_000,
      ...overrides,
    }),
  };
}

/** Containers, services, volumes and networks of the run, whatever a failed test left. */
export async function leftovers(docker: Docker, run: string): Promise<string[]> {
  const label = { label: [`${TEST_LABEL}=${run}`] };
  const swarm = ((await docker.info()) as { Swarm?: { ControlAvailable?: boolean } }).Swarm?.ControlAvailable;
  const services = swarm ? await docker.listServices({ filters: label }) : [];
  const containers = await docker.listContainers({ all: true, filters: label });
  const volumes = (await docker.listVolumes({ filters: { name: [`sotest_vol_`] } })).Volumes ?? [];
  const networks = await docker.listNetworks({ filters: { name: [`sotest_net_${run}`] } });
  return [
    ...services.map((s) => `service ${s.Spec?.Name}`),
    ...containers.map((c) => `container ${c.Names[0]}`),
    ...volumes.filter((v) => v.Name.endsWith(run)).map((v) => `volume ${v.Name}`),
    ...networks.map((n) => `network ${n.Name}`),
  ];
}

export async function cleanUp(docker: Docker, run: string): Promise<void> {
  const label = { label: [`${TEST_LABEL}=${run}`] };
  const swarm = ((await docker.info()) as { Swarm?: { ControlAvailable?: boolean } }).Swarm?.ControlAvailable;
  if (swarm) {
    for (const s of await docker.listServices({ filters: label }))
      await docker
        .getService(s.ID)
        .remove()
        .catch(() => undefined);
  }
  for (const c of await docker.listContainers({ all: true, filters: label })) {
    await docker
      .getContainer(c.Id)
      .remove({ force: true })
      .catch(() => undefined);
  }
  await sleep(1_000);
  for (const v of (await docker.listVolumes()).Volumes ?? []) {
    if (v.Name.startsWith('sotest_vol_') && v.Name.endsWith(run))
      await docker
        .getVolume(v.Name)
        .remove()
        .catch(() => undefined);
  }
  for (const n of await docker.listNetworks({ filters: { name: [`sotest_net_${run}`] } })) {
    await docker
      .getNetwork(n.Id)
      .remove()
      .catch(() => undefined);
  }
}

/**
 * What every placement backend must do. `engine` removes an instance behind the platform's back (drift).
 */
export function describePlacementContract(
  title: string,
  setup: () => Promise<{
    backend: PlacementBackend;
    docker: Docker;
    removeBehindBack(handle: string): Promise<void>;
  }>,
): void {
  describe(`${title}: placement contract`, () => {
    const f = fixture();
    let backend: PlacementBackend;
    let docker: Docker;
    let removeBehindBack: (handle: string) => Promise<void>;

    beforeAll(async () => {
      ({ backend, docker, removeBehindBack } = await setup());
      await backend.ping();
      await backend.ensureNetwork(f.network, { [TEST_LABEL]: f.run, 'saasodoo.managed': 'true' });
    }, 60_000);

    afterAll(async () => {
      if (docker) await cleanUp(docker, f.run);
    }, 60_000);

    it('deploys an instance stopped, adopts it on a second deploy, and runs it on scale 1', async () => {
      const spec = f.spec('a');
      await backend.ensureStorage(spec.storage, spec.labels);
      const handle = await backend.deploy(spec);
      expect(await backend.deploy(spec)).toBe(handle);
      expect((await backend.observe({ instanceId: spec.instanceId, name: spec.name })).state).toBe('stopped');
      await backend.scale(handle, 1, 2);
      await backend.waitReady(handle, { timeoutMs: 60_000 });
      const observed = await backend.observe({ instanceId: spec.instanceId, name: spec.name, handle });
      expect(observed).toMatchObject({ state: 'running', handle, name: spec.name });
      if (observed.state !== 'missing')
        expect(observed.limits).toEqual({ memoryBytes: 256 * MIB, nanoCpus: 500_000_000 });
      // Another instance's name is not this instance.
      expect((await backend.observe({ instanceId: 'someone-else', name: spec.name })).state).toBe('missing');
      expect((await backend.listManaged()).map((m) => m.instanceId)).toContain(spec.instanceId);
    }, 120_000);

    it('stops on scale 0 and starts again on scale 1', async () => {
      const spec = f.spec('a');
      const handle = await backend.deploy(spec);
      await backend.scale(handle, 0, 2);
      expect((await backend.observe({ instanceId: spec.instanceId, name: spec.name, handle })).state).toBe(
        'stopped',
      );
      await backend.scale(handle, 1, 2);
      await backend.waitReady(handle, { timeoutMs: 60_000 });
      expect((await backend.observe({ instanceId: spec.instanceId, name: spec.name, handle })).state).toBe(
        'running',
      );
    }, 120_000);

    it('restarts (a fresh boot shows in the logs)', async () => {
      const spec = f.spec('a');
      const handle = await backend.deploy(spec);
      const boots = async () => ((await backend.logs(handle, 1000)).match(/odoo-stub: ready/g) ?? []).length;
      const before = await waitUntil('a boot in the logs', async () => (await boots()) || null);
      await backend.restart(handle, 2);
      await backend.waitReady(handle, { timeoutMs: 60_000 });
      await waitUntil('one more boot', async () => (await boots()) > before);
      expect((await backend.observe({ instanceId: spec.instanceId, name: spec.name, handle })).state).toBe(
        'running',
      );
    }, 120_000);

    it('runs jobs to completion with their exit code, output and collected files', async () => {
      const spec = f.spec('a');
      const ok = await backend.runJob(
        f.job('ok', {
          cmd: [
            'sh',
            '-c',
            'mkdir -p /var/lib/odoo/out && echo payload > /var/lib/odoo/out/file.txt && echo job-ran',
          ],
          storage: spec.storage,
          collectPath: '/var/lib/odoo/out',
        }),
      );
      expect(ok.exitCode).toBe(0);
      expect(ok.output).toContain('job-ran');
      const files = tarFiles(ok.collected ?? Buffer.alloc(0));
      expect(files.find((file) => file.path === 'out/file.txt')?.content.toString()).toBe('payload\n');
      const failed = await backend.runJob(f.job('fail', { cmd: ['sh', '-c', 'echo broken >&2; exit 3'] }));
      expect(failed.exitCode).toBe(3);
      expect(failed.output).toContain('broken');
    }, 120_000);

    it('copies data out of and into the instance storage', async () => {
      const spec = f.spec('a');
      const handle = await backend.deploy(spec);
      const ref = { handle, storage: spec.storage, image: spec.image };
      const chunks: Buffer[] = [];
      for await (const chunk of await backend.copyOut(ref, '/var/lib/odoo')) chunks.push(Buffer.from(chunk));
      const out = tarFiles(Buffer.concat(chunks));
      expect(out.some((file) => file.path === 'odoo/out/file.txt')).toBe(true);
      // Back in under another directory name: the archive of odoo/… extracted in /var/lib/odoo/restored.
      await backend.runJob(
        f.job('mk', { cmd: ['sh', '-c', 'mkdir -p /var/lib/odoo/restored'], storage: spec.storage }),
      );
      await backend.copyIn(ref, '/var/lib/odoo/restored', Readable.from([Buffer.concat(chunks)]));
      const check = await backend.runJob(
        f.job('check', {
          cmd: ['sh', '-c', 'cat /var/lib/odoo/restored/odoo/out/file.txt'],
          storage: spec.storage,
        }),
      );
      expect(check.output).toContain('payload');
    }, 180_000);

    it('sees an instance removed behind its back (event, then missing)', async () => {
      const spec = f.spec('drift');
      await backend.ensureStorage(spec.storage, spec.labels);
      const handle = await backend.deploy(spec);
      await backend.scale(handle, 1, 2);
      await backend.waitReady(handle, { timeoutMs: 60_000 });
      const seen: PlacementEvent[] = [];
      const abort = new AbortController();
      let connected = 0;
      const loop = backend.events((event) => void seen.push(event), abort.signal, {
        onConnect: () => (connected += 1),
      });
      try {
        await waitUntil('the event stream', async () => connected > 0);
        await removeBehindBack(handle);
        await waitUntil('an event of the removed instance', async () =>
          seen.some((event) => event.instanceId === spec.instanceId && event.handle === handle),
        );
        expect((await backend.observe({ instanceId: spec.instanceId, name: spec.name, handle })).state).toBe(
          'missing',
        );
      } finally {
        abort.abort();
        await loop;
      }
      await backend.removeStorage(spec.storage);
    }, 120_000);

    it('has no other node to move a local volume to on one host or a one-node swarm', async () => {
      const spec = f.spec('a');
      const { node } = await backend.ensureStorage(spec.storage, spec.labels);
      const storage = spec.storage.kind === 'local-volume' ? { ...spec.storage, node } : spec.storage;
      await expect(backend.migrationTarget(storage)).rejects.toThrow(PlacementRefusedError);
      if (node) {
        await expect(backend.migrationTarget(storage, node)).rejects.toThrow(/already on node/);
        await expect(backend.migrationTarget(storage, 'no-such-node')).rejects.toThrow(/no swarm node/);
        expect(await backend.nodeAcceptsJobs(node)).toBe(true);
      } else {
        await expect(backend.prepareStorageOn(storage, 'elsewhere', {}, spec.image)).rejects.toThrow(
          PlacementRefusedError,
        );
      }
    });

    it('removes the instance, its storage and network, and leaves nothing of the run behind', async () => {
      const spec = f.spec('a');
      const handle = await backend.deploy(spec);
      await backend.remove(handle);
      await backend.remove(handle);
      expect((await backend.observe({ instanceId: spec.instanceId, name: spec.name, handle })).state).toBe(
        'missing',
      );
      await backend.removeStorage(spec.storage);
      await backend.removeJob(f.job('ok').name);
      expect(await backend.releaseNetwork(f.network)).toBe('removed');
      expect((await backend.listManaged()).filter((m) => m.instanceId.endsWith(f.run))).toEqual([]);
      expect(await leftovers(docker, f.run)).toEqual([]);
    }, 120_000);
  });
}
