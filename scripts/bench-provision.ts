/**
 * npm run bench:provision — time-to-running of instances of the stand-in image saasodoo/odoo-stub, N at once
 * (BENCH_SIZES, default "1,20"):
 *   platform: POST /api/v1/instances/ over HTTP to instance-service; tenant-service, instance-service and
 *             instance-worker each run as their own process (as deployed; user-service, which only makes the
 *             customers beforehand, runs in this one), on real Postgres, Redis and the Docker engine. Time
 *             from the POST to the worker's `running` event (its timestamp, so no polling delay is counted).
 *             Two ways, in the same run and worker:
 *               spares ready  — version 17.0, with ODOO_SPARE_POOL=17.0=<largest N>: each instance adopts a
 *                               spare database made (and initialised) in advance; the pool refills between
 *                               rounds, when provisioning is quiet, as in production;
 *               from scratch  — version 16.0 (same stand-in, no spares): CREATE DATABASE and the
 *                               `odoo --init` one-shot container inside the provisioning.
 *   floor:    the same containers (image, command, limits, hardening, log options, Traefik labels, published
 *             port, their own data volume on /var/lib/odoo, on a user-defined bridge network made beforehand
 *             like the tenant's) created and started with plain dockerode calls, then polled
 *             on /web/health like the worker does (every 200 ms) until 200. For reference the same on Docker's
 *             default bridge is printed too (a user-defined network costs Docker more per container).
 * Prints p50/p99 per size and the platform/floor ratio, where the platform's time goes, and the worker's
 * mean time per step (its lifecycle_step_duration_seconds). Everything it creates is removed at the end.
 * BENCH_ROUNDS (default 1) repeats each size; BENCH_STARTUP_DELAY_SECONDS emulates Odoo's boot time in both.
 * ORCHESTRATOR=swarm (the engine a swarm manager: scripts/swarm-init.sh): the worker runs instances as swarm
 * services, and the floor is one plain `docker service create` of the same spec per instance, on an
 * attachable overlay, until its task runs (scripts/bench-swarm-floor.ts).
 */
import 'reflect-metadata';
import Docker from 'dockerode';
import { Redis } from 'ioredis';
import { ChildProcess, execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { rm } from 'node:fs/promises';
import { cpus, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  adminQuery,
  adminSql,
  createVerifiedCustomer,
  serviceTestEnv,
  ServiceHarness,
  SmtpSink,
  startService,
  TestCustomer,
  userServiceTestEnv,
} from '@app/testing';
import { AppModule as UserModule } from '../apps/user-service/src/app.module';
import { freePort } from '@app/testing';
import { loadEnvExample } from './bench-env';
import { removeSwarmFloor, swarmFloorRound } from './bench-swarm-floor';

const ROOT = resolve(__dirname, '..');
const IMAGE_TEMPLATE = 'saasodoo/odoo-stub:{version}';
/** Instances of this version find spare databases ready (ODOO_SPARE_POOL=17.0=<largest N>) … */
const ODOO_VERSION = '17.0';
/** … those of this one (no spares configured, same stand-in content) are made from scratch. */
const COLD_VERSION = '16.0';
const IMAGE = IMAGE_TEMPLATE.replace('{version}', ODOO_VERSION);
const RUN_ID = randomBytes(4).toString('hex');
const BENCH_LABEL = 'saasodoo.bench.run';
/** The floor's user-defined bridge, made once before the rounds like a tenant network that exists. */
const floorNetwork = `bench-floor-${RUN_ID}`;
const MIB = 1024 * 1024;
const LIMITS = { cpu: 0.5, memory: '256M', storage: '1G' } as const;
const HEALTH_POLL_MS = 200;
const TIMEOUT_MS = 180_000;
const SWARM = process.env.ORCHESTRATOR === 'swarm';
const docker = new Docker({
  socketPath: (process.env.DOCKER_HOST ?? 'unix:///var/run/docker.sock').replace(/^unix:\/\//, ''),
});

function log(line: string): void {
  process.stdout.write(`${line}\n`);
}

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.max(1, Math.ceil((p / 100) * sorted.length));
  return sorted[rank - 1] ?? NaN;
}

async function json<T>(response: Response, expected: number, what: string): Promise<T> {
  const text = await response.text();
  if (response.status !== expected) throw new Error(`${what}: HTTP ${response.status}: ${text}`);
  return JSON.parse(text) as T;
}

// ---- the platform ------------------------------------------------------------------------------------------

/** A service run as its own process, as deployed (ts-node on its sources). */
interface ServiceProcess {
  name: string;
  child: ChildProcess;
  log: string[];
  url: string;
}

interface Platform {
  smtp: SmtpSink;
  /** user-service runs in this process: it only makes the customers, before anything is measured. */
  users: ServiceHarness;
  processes: ServiceProcess[];
  instanceUrl: string;
  tenantUrl: string;
  workerUrl: string;
  queuePrefix: string;
  backupDir: string;
  odooNetwork: string;
}

function spawnService(name: string, port: number, env: Record<string, string>): ServiceProcess {
  const log: string[] = [];
  const child = spawn(
    process.execPath,
    ['-r', 'ts-node/register/transpile-only', '-r', 'tsconfig-paths/register', `apps/${name}/src/main.ts`],
    { cwd: ROOT, env: { ...process.env, ...env, PORT: String(port) }, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  for (const stream of [child.stdout, child.stderr]) {
    stream?.on('data', (chunk: Buffer) => {
      log.push(chunk.toString('utf8'));
      if (log.length > 200) log.shift();
    });
  }
  return { name, child, log, url: `http://127.0.0.1:${port}` };
}

async function whenReady(service: ServiceProcess): Promise<void> {
  const deadline = Date.now() + 120_000;
  for (;;) {
    if (service.child.exitCode !== null) throw new Error(`${service.name} exited:\n${service.log.join('')}`);
    const ready = await fetch(`${service.url}/health/ready`).catch(() => null);
    if (ready?.status === 200) return;
    if (Date.now() > deadline) throw new Error(`${service.name} not ready:\n${service.log.join('')}`);
    await sleep(500);
  }
}

async function startPlatform(concurrency: number, spares: number): Promise<Platform> {
  const smtp = new SmtpSink();
  await smtp.start();
  const [userPort, tenantPort, instancePort, workerPort] = [
    await freePort(),
    await freePort(),
    await freePort(),
    await freePort(),
  ];
  const url = (port: number) => `http://127.0.0.1:${port}`;
  const queuePrefix = `bench-${RUN_ID}`;
  const users = await startService(
    UserModule,
    'user-service',
    userServiceTestEnv(smtp, {
      TENANT_SERVICE_URL: url(tenantPort),
      INSTANCE_SERVICE_URL: url(instancePort),
      LOG_LEVEL: 'error',
    }),
  );
  await users.app.listen({ port: userPort, host: '127.0.0.1' });

  const backupDir = join(tmpdir(), `saasodoo-bench-${RUN_ID}`);
  const odooNetwork = `bench-odoo-${RUN_ID}`;
  const processes = [
    spawnService(
      'tenant-service',
      tenantPort,
      serviceTestEnv('tenant-service', {
        USER_SERVICE_URL: url(userPort),
        INSTANCE_SERVICE_URL: url(instancePort),
        LOG_LEVEL: 'error',
      }),
    ),
    spawnService(
      'instance-service',
      instancePort,
      serviceTestEnv('instance-service', {
        TENANT_SERVICE_URL: url(tenantPort),
        BILLING_PROVIDER: 'none',
        QUEUE_PREFIX: queuePrefix,
        BASE_DOMAIN: 'saasodoo.test',
        LOG_LEVEL: 'error',
      }),
    ),
    spawnService(
      'instance-worker',
      workerPort,
      serviceTestEnv('instance-worker', {
        QUEUE_PREFIX: queuePrefix,
        ODOO_IMAGE_TEMPLATE: IMAGE_TEMPLATE,
        ODOO_NETWORK: odooNetwork,
        PUBLISH_INSTANCE_PORTS: 'true',
        WORKER_CONCURRENCY: String(concurrency),
        ODOO_SPARE_POOL: `${ODOO_VERSION}=${spares}`,
        ODOO_SPARE_POOL_INTERVAL_MS: '2000',
        INSTANCE_PURGE_AFTER_SECONDS: '0',
        // The bench's jobs drive everything; no sweep over instance_test rows that other runs may own.
        RECONCILE_INTERVAL_MS: '600000',
        BACKUP_DIR: backupDir,
        BASE_DOMAIN: 'saasodoo.test',
        LOG_LEVEL: 'warn',
      }),
    ),
  ];
  const platform: Platform = {
    smtp,
    users,
    processes,
    instanceUrl: url(instancePort),
    tenantUrl: url(tenantPort),
    workerUrl: url(workerPort),
    queuePrefix,
    backupDir,
    odooNetwork,
  };
  try {
    for (const service of processes) await whenReady(service);
  } catch (error) {
    await stopPlatform(platform);
    throw error;
  }
  return platform;
}

async function stopPlatform(platform: Platform): Promise<void> {
  // The worker first (it may be making spares), then the APIs.
  for (const service of [...platform.processes].reverse()) {
    if (service.child.exitCode !== null || service.child.signalCode !== null) continue;
    const exited = new Promise((done) => service.child.once('exit', done));
    service.child.kill('SIGTERM');
    await Promise.race([exited, sleep(15_000)]);
    if (service.child.exitCode === null && service.child.signalCode === null) service.child.kill('SIGKILL');
  }
  await platform.users.close().catch(() => undefined);
  await platform.smtp.stop();
}

interface BenchTenant {
  customer: TestCustomer;
  tenantId: string;
}

async function newTenant(platform: Platform): Promise<BenchTenant> {
  const customer = await createVerifiedCustomer(platform.users, platform.smtp);
  const { id } = await json<{ id: string }>(
    await fetch(`${platform.tenantUrl}/api/v1/tenants`, {
      method: 'POST',
      headers: { authorization: `Bearer ${customer.access_token}`, 'content-type': 'application/json' },
      body: JSON.stringify({
        name: `Bench ${RUN_ID}`,
        subdomain: `bench-${randomBytes(5).toString('hex')}`,
      }),
    }),
    201,
    'tenant',
  );
  // Plans are not self-service: the enterprise quota comes through the internal API, as billing sets it.
  await json(
    await fetch(`${platform.tenantUrl}/internal/tenants/${id}/plan`, {
      method: 'PUT',
      headers: {
        'x-internal-token': process.env.INTERNAL_API_TOKEN ?? '',
        'content-type': 'application/json',
      },
      body: JSON.stringify({ plan: 'enterprise', actor: 'bench' }),
    }),
    200,
    'tenant plan',
  );
  return { customer, tenantId: id };
}

interface Created {
  id: string;
  databaseName: string;
  tenantId: string;
}

interface PlatformSample {
  /** POST sent → the worker's `running` event: the figure compared with the floor. */
  total: number;
  /** POST sent → 201 received (the API's own share). */
  api: number;
  /** create event → the worker's `provisioning` event (queue hand-over). */
  queue: number;
  /** `provisioning` → `running` (the worker's share: DB, volume, network, init one-shot, container, health). */
  worker: number;
}

type EventRow = { to_status: string; from_status: string | null; created_at: string };

/** N creates at once through the API, timed from the POST and from the events the platform recorded. */
async function platformRound(
  platform: Platform,
  tenant: BenchTenant,
  n: number,
  created: Created[],
  version: string,
): Promise<PlatformSample[]> {
  const headers = {
    authorization: `Bearer ${tenant.customer.access_token}`,
    'content-type': 'application/json',
  };
  const started = Date.now();
  const posted = await Promise.all(
    Array.from({ length: n }, async () => {
      const databaseName = `bench_${RUN_ID}_${randomBytes(4).toString('hex')}`;
      const body = await json<{ id: string }>(
        await fetch(`${platform.instanceUrl}/api/v1/instances/`, {
          method: 'POST',
          headers,
          body: JSON.stringify({
            tenant_id: tenant.tenantId,
            name: 'bench',
            admin_email: 'bench@example.test',
            database_name: databaseName,
            odoo_version: version,
            cpu_limit: LIMITS.cpu,
            memory_limit: LIMITS.memory,
            storage_limit: LIMITS.storage,
            environment_vars: stubEnv(),
          }),
        }),
        201,
        'create',
      );
      created.push({ id: body.id, databaseName, tenantId: tenant.tenantId });
      return { id: body.id, api: Date.now() - started };
    }),
  );
  // One list call per round of polling (not one per instance), so measuring loads the platform as little as
  // possible; the times themselves come from the recorded events.
  const deadline = Date.now() + TIMEOUT_MS;
  const apiTimes = new Map(posted.map((p) => [p.id, p.api]));
  for (;;) {
    if (Date.now() > deadline) throw new Error(`instances not running after ${TIMEOUT_MS} ms`);
    const { instances } = await json<{
      instances: { id: string; status: string; error_message: string | null }[];
    }>(
      await fetch(`${platform.instanceUrl}/api/v1/instances/?tenant_id=${tenant.tenantId}&page_size=100`, {
        headers,
      }),
      200,
      'list',
    );
    const mine = instances.filter((i) => apiTimes.has(i.id));
    const failed = mine.find((i) => i.status === 'error');
    if (failed) throw new Error(`instance ${failed.id} failed: ${failed.error_message}`);
    if (mine.length === apiTimes.size && mine.every((i) => i.status === 'running')) break;
    // Seldom: the times come from the recorded events, and polling would load the platform it measures.
    await sleep(1_000);
  }
  const samples: PlatformSample[] = [];
  for (const [id, api] of apiTimes) {
    const { events } = await json<{ events: EventRow[] }>(
      await fetch(`${platform.instanceUrl}/api/v1/instances/${id}/events?limit=500`, { headers }),
      200,
      'events',
    );
    const at = (to: string, from: string | null | undefined) =>
      Date.parse(
        events.find(
          (e) => e.to_status === to && (from === undefined ? e.from_status !== to : e.from_status === from),
        )?.created_at ?? 'NaN',
      );
    const createdAt = at('pending', null);
    const provisioningAt = at('provisioning', undefined);
    const runningAt = at('running', undefined);
    if ([createdAt, provisioningAt, runningAt].some(Number.isNaN))
      throw new Error(`missing events for ${id}`);
    samples.push({
      total: runningAt - started,
      api,
      queue: provisioningAt - createdAt,
      worker: runningAt - provisioningAt,
    });
  }
  return samples;
}

/**
 * DELETE (= terminate) every instance of the round and wait until each is purged (retention 0 in this run):
 * container, volume, database and role gone and `purged_at` recorded. The next round starts on a quiet
 * machine, as the floor's rounds do (its containers are removed before the next one starts).
 */
async function terminateAll(platform: Platform, tenant: BenchTenant, created: Created[]): Promise<void> {
  const headers = { authorization: `Bearer ${tenant.customer.access_token}` };
  await Promise.all(
    created
      .filter((c) => c.tenantId === tenant.tenantId)
      .map(async (c) => {
        // Not measured: a 503 (a dependency slow under the load just created) is retried.
        for (let attempt = 1; ; attempt++) {
          const res = await fetch(`${platform.instanceUrl}/api/v1/instances/${c.id}`, {
            method: 'DELETE',
            headers,
          });
          if (res.status === 202 || res.status === 409) return;
          if (res.status !== 503 || attempt === 5) throw new Error(`terminate ${c.id}: HTTP ${res.status}`);
          await sleep(500 * attempt);
        }
      }),
  );
  const ids = created.filter((c) => c.tenantId === tenant.tenantId).map((c) => c.id);
  const deadline = Date.now() + TIMEOUT_MS;
  for (;;) {
    const [{ left }] = await adminQuery<{ left: string }>(
      `SELECT count(*) AS left FROM instances WHERE id IN (${ids.map((id) => `'${id}'`).join(',')})
         AND purged_at IS NULL`,
      'instance_test',
    );
    if (Number(left) === 0) return;
    if (Date.now() > deadline) throw new Error(`${left} instance(s) not purged after ${TIMEOUT_MS} ms`);
    await sleep(250);
  }
}

/** Sum and count of the worker's lifecycle_step_duration_seconds per step, from its /metrics. */
async function stepTotals(platform: Platform): Promise<Map<string, { sum: number; count: number }>> {
  const text = await (await fetch(`${platform.workerUrl}/metrics`)).text();
  const totals = new Map<string, { sum: number; count: number }>();
  for (const match of text.matchAll(/^lifecycle_step_duration_seconds_(sum|count)\{([^}]*)\} (\S+)$/gm)) {
    const step = /step="([^"]+)"/.exec(match[2]!)?.[1];
    if (!step) continue;
    const entry = totals.get(step) ?? { sum: 0, count: 0 };
    entry[match[1] as 'sum' | 'count'] = Number(match[3]);
    totals.set(step, entry);
  }
  return totals;
}

/** Until the worker reports `count` spare databases of ODOO_VERSION ready (not timed). */
async function sparesReady(platform: Platform, count: number): Promise<void> {
  const deadline = Date.now() + TIMEOUT_MS;
  for (;;) {
    const text = await (await fetch(`${platform.workerUrl}/metrics`)).text();
    const match = new RegExp(
      `^odoo_spares_ready\\{[^}]*odoo_version="${ODOO_VERSION}"[^}]*\\} (\\d+)`,
      'm',
    ).exec(text);
    if (Number(match?.[1] ?? 0) >= count) return;
    if (Date.now() > deadline) throw new Error(`spare pool not refilled to ${count} within ${TIMEOUT_MS} ms`);
    await sleep(500);
  }
}

/** Adds what each step took between two scrapes to `into`. */
function addStepDeltas(
  into: Map<string, { sum: number; count: number }>,
  before: Map<string, { sum: number; count: number }>,
  after: Map<string, { sum: number; count: number }>,
): void {
  for (const [step, { sum, count }] of after) {
    const prior = before.get(step) ?? { sum: 0, count: 0 };
    if (count === prior.count) continue;
    const acc = into.get(step) ?? { sum: 0, count: 0 };
    into.set(step, { sum: acc.sum + sum - prior.sum, count: acc.count + count - prior.count });
  }
}

// ---- CPU accounting -----------------------------------------------------------------------------------------

/** CPU seconds used so far: the machine's busy time, and per group of processes (children reaped included). */
interface CpuSnapshot {
  machine: number;
  groups: Map<string, number>;
}

const CLOCK_TICKS = Number(execFileSync('getconf', ['CLK_TCK']).toString().trim()) || 100;

function cpuGroup(pid: number, comm: string, named: Map<number, string>): string {
  const name = named.get(pid);
  if (name) return name;
  if (comm === 'dockerd' || comm === 'docker-proxy') return 'dockerd';
  if (comm.startsWith('containerd') || comm === 'runc') return 'containerd + shims';
  if (comm === 'postgres') return 'postgres';
  if (comm === 'redis-server') return 'redis';
  return 'other (containers …)';
}

async function cpuSnapshot(named: Map<number, string>): Promise<CpuSnapshot> {
  const { readdir, readFile } = await import('node:fs/promises');
  const [cpu] = (await readFile('/proc/stat', 'utf8')).split('\n');
  const ticks = (cpu ?? '').trim().split(/\s+/).slice(1).map(Number);
  // user nice system idle iowait irq softirq steal: busy is all but idle and iowait.
  const busy = [0, 1, 2, 5, 6, 7].reduce((sum, i) => sum + (ticks[i] ?? 0), 0);
  const groups = new Map<string, number>();
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = await readFile(`/proc/${entry}/stat`, 'utf8').catch(() => '');
    const close = stat.lastIndexOf(')');
    if (close < 0) continue;
    const comm = stat.slice(stat.indexOf('(') + 1, close);
    const rest = stat.slice(close + 2).split(' ');
    const used = [11, 12, 13, 14].reduce((sum, i) => sum + Number(rest[i] ?? 0), 0);
    const group = cpuGroup(Number(entry), comm, named);
    groups.set(group, (groups.get(group) ?? 0) + used / CLOCK_TICKS);
  }
  return { machine: busy / CLOCK_TICKS, groups };
}

function cpuDelta(before: CpuSnapshot, after: CpuSnapshot): CpuSnapshot {
  const groups = new Map<string, number>();
  for (const [group, value] of after.groups) {
    groups.set(group, Math.max(0, value - (before.groups.get(group) ?? 0)));
  }
  return { machine: after.machine - before.machine, groups };
}

// ---- the floor ---------------------------------------------------------------------------------------------

function stubEnv(): Record<string, string> {
  const delay = process.env.BENCH_STARTUP_DELAY_SECONDS;
  return delay ? { STUB_STARTUP_DELAY_SECONDS: delay } : {};
}

async function healthy(port: number): Promise<boolean> {
  try {
    const res = await fetch(`http://127.0.0.1:${port}/web/health`, { signal: AbortSignal.timeout(2_000) });
    await res.arrayBuffer();
    return res.status === 200;
  } catch {
    return false;
  }
}

/**
 * The same container as the worker's, with plain dockerode: create, start, poll /web/health. `network` is a
 * user-defined bridge made beforehand (the platform's containers live on their tenant's one), or `bridge`.
 */
async function floorRound(n: number, network: string): Promise<number[]> {
  if (SWARM) {
    return swarmFloorRound(n, {
      docker,
      image: IMAGE,
      network,
      runId: RUN_ID,
      label: BENCH_LABEL,
      env: stubEnv(),
      timeoutMs: TIMEOUT_MS,
    });
  }
  const started = Date.now();
  return Promise.all(
    Array.from({ length: n }, async (_, i) => {
      const name = `bench-floor-${RUN_ID}-${n}-${i}-${randomBytes(2).toString('hex')}`;
      const router = `floor-${name}`;
      const container = await docker.createContainer({
        name,
        Image: IMAGE,
        Cmd: ['odoo', '--database=bench', '--db-filter=^bench$', '--no-database-list', '--proxy-mode'],
        Env: Object.entries({
          HOST: 'postgres.invalid',
          PORT: '5432',
          USER: 'bench',
          PASSWORD: 'bench',
          ...stubEnv(),
        }).map(([k, v]) => `${k}=${v}`),
        Labels: {
          [BENCH_LABEL]: RUN_ID,
          'traefik.enable': 'true',
          'traefik.docker.network': network,
          [`traefik.http.routers.${router}.rule`]: `Host(\`${name}.saasodoo.test\`)`,
          [`traefik.http.routers.${router}.service`]: router,
          [`traefik.http.services.${router}.loadbalancer.server.port`]: '8069',
        },
        ExposedPorts: { '8069/tcp': {} },
        NetworkingConfig: { EndpointsConfig: { [network]: {} } },
        HostConfig: {
          NetworkMode: network,
          Memory: 256 * MIB,
          MemorySwap: 256 * MIB,
          NanoCpus: LIMITS.cpu * 1e9,
          PidsLimit: 512,
          SecurityOpt: ['no-new-privileges:true'],
          CapDrop: ['ALL'],
          RestartPolicy: { Name: 'unless-stopped' },
          // Its own data volume, made by the engine on create (the worker makes it just before).
          Mounts: [
            {
              Type: 'volume',
              Source: `${name}-data`,
              Target: '/var/lib/odoo',
              VolumeOptions: {
                NoCopy: false,
                Labels: { [BENCH_LABEL]: RUN_ID },
                DriverConfig: { Name: 'local', Options: {} },
              },
            },
          ],
          LogConfig: { Type: 'json-file', Config: { 'max-size': '10m', 'max-file': '3' } },
          PortBindings: { '8069/tcp': [{ HostIp: '127.0.0.1', HostPort: '' }] },
        },
      });
      await container.start();
      const info = await container.inspect();
      const port = Number(info.NetworkSettings.Ports['8069/tcp']?.[0]?.HostPort);
      const deadline = Date.now() + TIMEOUT_MS;
      while (!(await healthy(port))) {
        if (Date.now() > deadline) throw new Error('floor container never healthy');
        await sleep(HEALTH_POLL_MS);
      }
      return Date.now() - started;
    }),
  );
}

async function removeFloorContainers(): Promise<void> {
  if (SWARM) await removeSwarmFloor(docker, BENCH_LABEL, RUN_ID);
  for (const c of await docker.listContainers({
    all: true,
    filters: { label: [`${BENCH_LABEL}=${RUN_ID}`] },
  })) {
    await docker
      .getContainer(c.Id)
      .remove({ force: true, v: true })
      .catch(() => undefined);
  }
  const { Volumes } = await docker.listVolumes({ filters: { label: [`${BENCH_LABEL}=${RUN_ID}`] } });
  for (const volume of Volumes ?? []) {
    await docker
      .getVolume(volume.Name)
      .remove()
      .catch(() => undefined);
  }
}

// ---- cleanup -----------------------------------------------------------------------------------------------

async function cleanup(platform: Platform | undefined, created: Created[]): Promise<void> {
  await removeFloorContainers();
  await docker
    .getNetwork(floorNetwork)
    .remove()
    .catch(() => undefined);
  for (const c of created) {
    if (SWARM) {
      // Services first: their tasks would start the containers removed below again.
      for (const label of [`saasodoo.instance.id=${c.id}`, `saasodoo.oneshot.instance=${c.id}`]) {
        for (const service of await docker.listServices({ filters: { label: [label] } })) {
          await docker
            .getService(service.ID)
            .remove()
            .catch(() => undefined);
        }
      }
    }
    for (const label of [`saasodoo.instance.id=${c.id}`, `saasodoo.oneshot.instance=${c.id}`]) {
      for (const info of await docker.listContainers({ all: true, filters: { label: [label] } })) {
        await docker
          .getContainer(info.Id)
          .remove({ force: true, v: true })
          .catch(() => undefined);
      }
    }
    const { Volumes } = await docker.listVolumes({ filters: { label: [`saasodoo.instance.id=${c.id}`] } });
    for (const v of Volumes ?? [])
      await docker
        .getVolume(v.Name)
        .remove()
        .catch(() => undefined);
    await adminSql(`DROP DATABASE IF EXISTS "${c.databaseName}" WITH (FORCE)`).catch(() => undefined);
    await adminSql(`DROP ROLE IF EXISTS "odoo_${c.id.replace(/-/g, '')}"`).catch(() => undefined);
  }
  // By label and id: concurrent creates can leave several networks with the same name.
  for (const tenantId of new Set(created.map((c) => c.tenantId))) {
    const networks = await docker.listNetworks({ filters: { label: [`saasodoo.tenant.id=${tenantId}`] } });
    for (const info of networks) {
      const network = docker.getNetwork(info.Id);
      for (const containerId of Object.keys(info.Containers ?? {})) {
        await network.disconnect({ Container: containerId, Force: true }).catch(() => undefined);
      }
      await network.remove().catch((error: unknown) => {
        process.stderr.write(
          `cleanup: could not remove network ${info.Name} (${info.Id}): ${String(error)}\n`,
        );
      });
    }
  }
  // The spare databases the worker made and no instance adopted (the worker is stopped by now).
  const spares = await adminQuery<{
    id: string;
    database_name: string;
    db_role: string;
    volume_name: string;
  }>(
    `SELECT id, database_name, db_role, volume_name FROM odoo_spares WHERE instance_id IS NULL`,
    'instance_test',
  ).catch(() => []);
  for (const spare of spares) {
    for (const info of await docker.listContainers({
      all: true,
      filters: { label: [`saasodoo.spare.id=${spare.id}`] },
    })) {
      await docker
        .getContainer(info.Id)
        .remove({ force: true, v: true })
        .catch(() => undefined);
    }
    await adminSql(`DROP DATABASE IF EXISTS "${spare.database_name}" WITH (FORCE)`).catch(() => undefined);
    await adminSql(`DROP ROLE IF EXISTS "${spare.db_role}"`).catch(() => undefined);
    await docker
      .getVolume(spare.volume_name)
      .remove()
      .catch(() => undefined);
    await adminSql(`DELETE FROM odoo_spares WHERE id = '${spare.id}'`, 'instance_test');
  }
  if (created.length) {
    await adminSql(
      `DELETE FROM instances WHERE id IN (${created.map((c) => `'${c.id}'`).join(',')})`,
      'instance_test',
    );
  }
  if (platform) {
    const redis = new Redis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379', { lazyConnect: true });
    await redis.connect();
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${platform.queuePrefix}:*`, 'COUNT', 500);
      if (keys.length) await redis.del(...keys);
      cursor = next;
    } while (cursor !== '0');
    await redis.quit();
    await docker
      .getNetwork(platform.odooNetwork)
      .remove()
      .catch(() => undefined);
    await rm(platform.backupDir, { recursive: true, force: true });
  }
}

// ---- main --------------------------------------------------------------------------------------------------

interface Variant {
  samples: PlatformSample[];
  /** Mean seconds per worker step over the size's provisioning rounds. */
  steps: Map<string, number>;
}

interface Row {
  n: number;
  /** Spare databases ready (the pool sized for the burst). */
  warm: Variant;
  /** Made from scratch: CREATE DATABASE and `odoo -i base` inside the provisioning. */
  cold: Variant;
  floor: number[];
  /** The same containers on Docker's default bridge instead of a user-defined one (for reference). */
  bridgeFloor: number[];
  /** CPU seconds used during the (last round's) floor and platform rounds. */
  cpu: { floor?: CpuSnapshot; warm?: CpuSnapshot; cold?: CpuSnapshot };
}

function table(header: string[], lines: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i]!.length)));
  const fmt = (cells: string[]) => cells.map((c, i) => c.padStart(widths[i]!)).join('  ');
  return `${fmt(header)}\n${widths.map((w) => '-'.repeat(w)).join('  ')}\n${lines.map(fmt).join('\n')}`;
}

function print(rows: Row[]): void {
  const ms = (value: number) => `${Math.round(value)} ms`;
  const variants: [string, (r: Row) => Variant][] = [
    ['spares ready', (r) => r.warm],
    ['from scratch', (r) => r.cold],
  ];
  const totals = (v: Variant) => v.samples.map((s) => s.total);
  log(
    `\ntime to running (floor: the same containers, on a user-defined bridge like a tenant network):\n${table(
      ['N at once', 'platform', 'p50', 'p99', 'floor p50', 'floor p99', 'ratio p50', 'ratio p99'],
      rows.flatMap((r) =>
        variants.map(([name, pick]) => {
          const [pp50, pp99, fp50, fp99] = [
            percentile(totals(pick(r)), 50),
            percentile(totals(pick(r)), 99),
            percentile(r.floor, 50),
            percentile(r.floor, 99),
          ];
          return [
            String(r.n),
            name,
            ms(pp50),
            ms(pp99),
            ms(fp50),
            ms(fp99),
            (pp50 / fp50).toFixed(2),
            (pp99 / fp99).toFixed(2),
          ];
        }),
      ),
    )}`,
  );
  log(
    `\nwhere the platform's time goes (p50 / p99):\n${table(
      ['N at once', 'platform', 'API POST→201', 'queue create→provisioning', 'worker provisioning→running'],
      rows.flatMap((r) =>
        variants.map(([name, pick]) => {
          const part = (of: (s: PlatformSample) => number) => {
            const values = pick(r).samples.map(of);
            return `${ms(percentile(values, 50))} / ${ms(percentile(values, 99))}`;
          };
          return [String(r.n), name, part((s) => s.api), part((s) => s.queue), part((s) => s.worker)];
        }),
      ),
    )}`,
  );
  const steps = [...new Set(rows.flatMap((r) => [...r.warm.steps.keys(), ...r.cold.steps.keys()]))];
  log(
    `\nworker steps while provisioning, mean per instance (lifecycle_step_duration_seconds):\n${table(
      ['N at once', 'platform', ...steps],
      rows.flatMap((r) =>
        variants.map(([name, pick]) => [
          String(r.n),
          name,
          ...steps.map((step) => {
            const value = pick(r).steps.get(step);
            return value === undefined ? '-' : ms(value * 1000);
          }),
        ]),
      ),
    )}`,
  );
  const groups = [
    'tenant-service',
    'instance-service',
    'instance-worker',
    'bench + user-service',
    'postgres',
    'redis',
    'dockerd',
    'containerd + shims',
    'other (containers …)',
  ];
  const seconds = (value: number | undefined) => (value === undefined ? '-' : `${value.toFixed(2)} s`);
  log(
    `\nCPU seconds used during each round (the machine's busy time, and by process; 2 CPUs = 2 s per second):\n${table(
      ['N at once', 'round', 'machine', ...groups],
      rows.flatMap((r) =>
        (
          [
            ['floor', r.cpu.floor],
            ['spares ready', r.cpu.warm],
            ['from scratch', r.cpu.cold],
          ] as const
        ).map(([name, cpu]) => [
          String(r.n),
          name,
          seconds(cpu?.machine),
          ...groups.map((g) => seconds(cpu?.groups.get(g))),
        ]),
      ),
    )}`,
  );
  if (!SWARM) {
    log(
      `\nfor reference, the floor's containers on Docker's default bridge instead:\n${table(
        ['N at once', 'p50', 'p99'],
        rows.map((r) => [String(r.n), ms(percentile(r.bridgeFloor, 50)), ms(percentile(r.bridgeFloor, 99))]),
      )}`,
    );
  }
}

async function main(): Promise<void> {
  loadEnvExample();
  process.env.NODE_ENV = 'test';
  const sizes = (process.env.BENCH_SIZES ?? '1,20').split(',').map((s) => Number(s.trim()));
  const rounds = Number(process.env.BENCH_ROUNDS ?? 1);
  if (sizes.some((n) => !Number.isInteger(n) || n < 1 || n > 45))
    throw new Error('BENCH_SIZES: integers 1..45');
  log(
    `bench:provision (${SWARM ? 'swarm' : 'docker'}) on ${cpus().length} CPU(s), node ${process.version}, image ${IMAGE}, run ${RUN_ID}`,
  );
  log('building the stand-in image if needed …');
  execFileSync('bash', [join(ROOT, 'infrastructure/odoo-stub/build.sh')], { stdio: 'inherit' });

  let platform: Platform | undefined;
  const created: Created[] = [];
  try {
    const largest = Math.max(...sizes);
    platform = await startPlatform(largest, largest);
    log(
      `platform up: ${platform.processes.map((p) => `${p.name} pid ${p.child.pid}`).join(', ')}; ` +
        `worker concurrency ${largest}, ${largest} spare databases`,
    );
    await sparesReady(platform, largest);
    const warmup = await newTenant(platform);
    await platformRound(platform, warmup, 1, created, ODOO_VERSION);
    await platformRound(platform, warmup, 1, created, COLD_VERSION);
    await docker.createNetwork({
      Name: floorNetwork,
      Driver: SWARM ? 'overlay' : 'bridge',
      ...(SWARM ? { Attachable: true, Options: { encrypted: 'true' } } : {}),
      Labels: { [BENCH_LABEL]: RUN_ID },
    });
    await floorRound(1, floorNetwork);
    await removeFloorContainers();
    await terminateAll(platform, warmup, created);
    await sparesReady(platform, largest);
    log('warm-up done');

    const rows: Row[] = [];
    for (const n of sizes) {
      const row: Row = {
        n,
        warm: { samples: [], steps: new Map() },
        cold: { samples: [], steps: new Map() },
        floor: [],
        bridgeFloor: [],
        cpu: {},
      };
      const steps = { warm: new Map<string, { sum: number; count: number }>(), cold: new Map() };
      for (let round = 0; round < rounds; round++) {
        const named = new Map<number, string>([
          [process.pid, 'bench + user-service'],
          ...platform.processes.map((p): [number, string] => [p.child.pid ?? -1, p.name]),
        ]);
        let cpuBefore = await cpuSnapshot(named);
        row.floor.push(...(await floorRound(n, floorNetwork)));
        row.cpu.floor = cpuDelta(cpuBefore, await cpuSnapshot(named));
        await removeFloorContainers();
        if (!SWARM) {
          row.bridgeFloor.push(...(await floorRound(n, 'bridge')));
          await removeFloorContainers();
        }
        for (const variant of ['cold', 'warm'] as const) {
          const tenant = await newTenant(platform);
          const before = await stepTotals(platform);
          const version = variant === 'warm' ? ODOO_VERSION : COLD_VERSION;
          cpuBefore = await cpuSnapshot(named);
          const samples = await platformRound(platform, tenant, n, created, version);
          row.cpu[variant] = cpuDelta(cpuBefore, await cpuSnapshot(named));
          row[variant].samples.push(...samples);
          // Only provisioning's steps: the terminate/purge that follows is not measured.
          addStepDeltas(steps[variant], before, await stepTotals(platform));
          await terminateAll(platform, tenant, created);
          log(
            `  N=${n} round ${round + 1} ${variant}: ${samples.map((sample) => sample.total).join(', ')} ms`,
          );
        }
        // The pool refills once provisioning is quiet; nothing else is measured meanwhile.
        await sparesReady(platform, largest);
        log(`  N=${n} round ${round + 1} floor: ${row.floor.slice(-n).join(', ')} ms`);
      }
      for (const variant of ['warm', 'cold'] as const) {
        row[variant].steps = new Map([...steps[variant]].map(([step, t]) => [step, t.sum / t.count]));
      }
      rows.push(row);
    }
    print(rows);
    if (SWARM) {
      const ms = (value: number) => `${Math.round(value)} ms`;
      log(
        `\nswarm: time to running, p50/p95 (floor: plain \`docker service create\` of the same spec):\n${table(
          ['N at once', 'platform', 'p50', 'p95', 'floor p50', 'floor p95', 'ratio p50'],
          rows.flatMap((r) =>
            (['warm', 'cold'] as const).map((variant) => {
              const totals = r[variant].samples.map((sample) => sample.total);
              const [pp50, pp95] = [percentile(totals, 50), percentile(totals, 95)];
              const [fp50, fp95] = [percentile(r.floor, 50), percentile(r.floor, 95)];
              return [
                String(r.n),
                variant === 'warm' ? 'spares ready' : 'from scratch',
                ms(pp50),
                ms(pp95),
                ms(fp50),
                ms(fp95),
                (pp50 / fp50).toFixed(2),
              ];
            }),
          ),
        )}`,
      );
    }
    log(
      '\nplatform = HTTP create (auth, tenant-service membership + quota, password hash + AES-GCM seal, row + event) → BullMQ job →\n' +
        'worker: spares ready: claim a spare database (initialised in advance) and rename it; from scratch: DB role +\n' +
        'CREATE DATABASE (odoo_provisioner) and the `odoo --init` one-shot container; then volume, tenant network, admin\n' +
        'credentials, instance container, /web/health → `running` recorded. floor = container create+start+health.',
    );
  } catch (error) {
    for (const service of platform?.processes ?? []) {
      process.stderr.write(`${service.name} log (tail):\n${service.log.join('').slice(-3000)}\n`);
    }
    throw error;
  } finally {
    if (platform) await stopPlatform(platform);
    await cleanup(platform, created);
  }
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    process.stderr.write(
      `bench:provision failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
    );
    process.exit(1);
  },
);
