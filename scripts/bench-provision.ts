/**
 * npm run bench:provision — time-to-running of instances of the stand-in image saasodoo/odoo-stub, N at once
 * (BENCH_SIZES, default "1,20"):
 *   platform: POST /api/v1/instances/ over HTTP to instance-service (user-, tenant- and instance-service booted in
 *             this process on real ports, real Postgres and Redis), provisioned by instance-worker running as
 *             its own process (as in production) against the real Docker engine; time from the POST to the
 *             worker's `running` event (its timestamp, so no polling delay is counted).
 *   floor:    the same containers (image, limits, hardening, published port) created and started with plain
 *             dockerode calls, then polled on /web/health like the worker does (every 200 ms) until 200.
 * Prints p50/p99 per size and the platform/floor ratio. Everything it creates is removed at the end.
 * BENCH_ROUNDS (default 1) repeats each size; BENCH_STARTUP_DELAY_SECONDS emulates Odoo's boot time in both.
 */
import 'reflect-metadata';
import Docker from 'dockerode';
import { Redis } from 'ioredis';
import { ChildProcess, execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { cpus, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  adminSql,
  createVerifiedCustomer,
  serviceTestEnv,
  ServiceHarness,
  SmtpSink,
  startService,
  TestCustomer,
  userServiceTestEnv,
} from '@app/testing';
import { AppModule as InstanceModule } from '../apps/instance-service/src/app.module';
import { AppModule as TenantModule } from '../apps/tenant-service/src/app.module';
import { AppModule as UserModule } from '../apps/user-service/src/app.module';
import { freePort } from '@app/testing';

const ROOT = resolve(__dirname, '..');
const IMAGE_TEMPLATE = 'saasodoo/odoo-stub:{version}';
const ODOO_VERSION = '17.0';
const IMAGE = IMAGE_TEMPLATE.replace('{version}', ODOO_VERSION);
const RUN_ID = randomBytes(4).toString('hex');
const BENCH_LABEL = 'saasodoo.bench.run';
const MIB = 1024 * 1024;
const LIMITS = { cpu: 0.5, memory: '256M', storage: '1G' } as const;
const HEALTH_POLL_MS = 200;
const TIMEOUT_MS = 180_000;
const docker = new Docker({
  socketPath: (process.env.DOCKER_HOST ?? 'unix:///var/run/docker.sock').replace(/^unix:\/\//, ''),
});

function log(line: string): void {
  process.stdout.write(`${line}\n`);
}

/** Same rule as scripts/test.sh: .env.example gives the defaults, the environment wins. */
function loadEnvExample(): void {
  const text = readFileSync(resolve(ROOT, '.env.example'), 'utf8');
  for (const line of text.split('\n')) {
    const match = /^([A-Z0-9_]+)=(.*)$/.exec(line.trim());
    if (match && process.env[match[1]!] === undefined) process.env[match[1]!] = match[2];
  }
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

interface Platform {
  smtp: SmtpSink;
  services: ServiceHarness[];
  worker: ChildProcess;
  workerLog: string[];
  instanceUrl: string;
  users: ServiceHarness;
  tenants: ServiceHarness;
  queuePrefix: string;
  backupDir: string;
  odooNetwork: string;
}

async function startPlatform(concurrency: number): Promise<Platform> {
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
  const services: ServiceHarness[] = [];
  const listen = async (harness: ServiceHarness, port: number) => {
    services.push(harness);
    await harness.app.listen({ port, host: '127.0.0.1' });
  };
  const users = await startService(
    UserModule,
    'user-service',
    userServiceTestEnv(smtp, {
      TENANT_SERVICE_URL: url(tenantPort),
      INSTANCE_SERVICE_URL: url(instancePort),
      LOG_LEVEL: 'error',
    }),
  );
  await listen(users, userPort);
  const tenants = await startService(
    TenantModule,
    'tenant-service',
    serviceTestEnv('tenant-service', {
      USER_SERVICE_URL: url(userPort),
      INSTANCE_SERVICE_URL: url(instancePort),
      LOG_LEVEL: 'error',
    }),
  );
  await listen(tenants, tenantPort);
  const instances = await startService(
    InstanceModule,
    'instance-service',
    serviceTestEnv('instance-service', {
      TENANT_SERVICE_URL: url(tenantPort),
      BILLING_PROVIDER: 'none',
      QUEUE_PREFIX: queuePrefix,
      BASE_DOMAIN: 'saasodoo.test',
      LOG_LEVEL: 'error',
    }),
  );
  await listen(instances, instancePort);

  const backupDir = join(tmpdir(), `saasodoo-bench-${RUN_ID}`);
  const odooNetwork = `bench-odoo-${RUN_ID}`;
  const workerEnv = serviceTestEnv('instance-worker', {
    PORT: String(workerPort),
    QUEUE_PREFIX: queuePrefix,
    ODOO_IMAGE_TEMPLATE: IMAGE_TEMPLATE,
    ODOO_NETWORK: odooNetwork,
    PUBLISH_INSTANCE_PORTS: 'true',
    WORKER_CONCURRENCY: String(concurrency),
    INSTANCE_PURGE_AFTER_SECONDS: '0',
    // The bench's jobs drive everything; no sweep over instance_test rows that other runs may own.
    RECONCILE_INTERVAL_MS: '600000',
    BACKUP_DIR: backupDir,
    BASE_DOMAIN: 'saasodoo.test',
    LOG_LEVEL: 'warn',
  });
  const workerLog: string[] = [];
  const worker = spawn(
    process.execPath,
    [
      '-r',
      'ts-node/register/transpile-only',
      '-r',
      'tsconfig-paths/register',
      'apps/instance-worker/src/main.ts',
    ],
    { cwd: ROOT, env: { ...process.env, ...workerEnv }, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  for (const stream of [worker.stdout, worker.stderr]) {
    stream?.on('data', (chunk: Buffer) => {
      workerLog.push(chunk.toString('utf8'));
      if (workerLog.length > 200) workerLog.shift();
    });
  }
  const platform: Platform = {
    smtp,
    services,
    worker,
    workerLog,
    instanceUrl: url(instancePort),
    users,
    tenants,
    queuePrefix,
    backupDir,
    odooNetwork,
  };
  const deadline = Date.now() + 120_000;
  for (;;) {
    if (worker.exitCode !== null) throw new Error(`instance-worker exited:\n${workerLog.join('')}`);
    const ready = await fetch(`${url(workerPort)}/health/ready`).catch(() => null);
    if (ready?.status === 200) break;
    if (Date.now() > deadline) throw new Error(`instance-worker not ready:\n${workerLog.join('')}`);
    await sleep(500);
  }
  return platform;
}

async function stopPlatform(platform: Platform): Promise<void> {
  if (platform.worker.exitCode === null) {
    const exited = new Promise((done) => platform.worker.once('exit', done));
    platform.worker.kill('SIGTERM');
    await Promise.race([exited, sleep(15_000)]);
    if (platform.worker.exitCode === null) platform.worker.kill('SIGKILL');
  }
  for (const harness of [...platform.services].reverse()) await harness.close().catch(() => undefined);
  await platform.smtp.stop();
}

interface BenchTenant {
  customer: TestCustomer;
  tenantId: string;
}

async function newTenant(platform: Platform): Promise<BenchTenant> {
  const customer = await createVerifiedCustomer(platform.users, platform.smtp);
  const res = await platform.tenants.request({
    method: 'POST',
    url: '/api/v1/tenants',
    headers: { authorization: `Bearer ${customer.access_token}` },
    payload: {
      name: `Bench ${RUN_ID}`,
      subdomain: `bench-${randomBytes(5).toString('hex')}`,
      plan: 'enterprise',
    },
  });
  if (res.statusCode !== 201) throw new Error(`tenant: ${res.statusCode} ${res.body}`);
  return { customer, tenantId: res.json<{ id: string }>().id };
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
            odoo_version: ODOO_VERSION,
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
    await sleep(250);
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

/** DELETE (= terminate) every instance of the round and wait for the purge (retention 0 in this run). */
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
  const deadline = Date.now() + TIMEOUT_MS;
  for (const c of created.filter((x) => x.tenantId === tenant.tenantId)) {
    while (
      (await docker.listContainers({ all: true, filters: { label: [`saasodoo.instance.id=${c.id}`] } }))
        .length
    ) {
      if (Date.now() > deadline) throw new Error(`instance ${c.id} was not purged`);
      await sleep(250);
    }
  }
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

/** The same container as the worker's, with plain dockerode: create, start, poll /web/health. */
async function floorRound(n: number): Promise<number[]> {
  const started = Date.now();
  return Promise.all(
    Array.from({ length: n }, async (_, i) => {
      const container = await docker.createContainer({
        name: `bench-floor-${RUN_ID}-${n}-${i}-${randomBytes(2).toString('hex')}`,
        Image: IMAGE,
        Cmd: ['odoo', '--database=bench', '--db-filter=^bench$', '--no-database-list', '--proxy-mode'],
        Env: Object.entries({
          HOST: 'postgres.invalid',
          PORT: '5432',
          USER: 'bench',
          PASSWORD: 'bench',
          ...stubEnv(),
        }).map(([k, v]) => `${k}=${v}`),
        Labels: { [BENCH_LABEL]: RUN_ID },
        ExposedPorts: { '8069/tcp': {} },
        HostConfig: {
          Memory: 256 * MIB,
          MemorySwap: 256 * MIB,
          NanoCpus: LIMITS.cpu * 1e9,
          PidsLimit: 512,
          SecurityOpt: ['no-new-privileges:true'],
          CapDrop: ['ALL'],
          RestartPolicy: { Name: 'unless-stopped' },
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
  for (const c of await docker.listContainers({
    all: true,
    filters: { label: [`${BENCH_LABEL}=${RUN_ID}`] },
  })) {
    await docker
      .getContainer(c.Id)
      .remove({ force: true })
      .catch(() => undefined);
  }
}

// ---- cleanup -----------------------------------------------------------------------------------------------

async function cleanup(platform: Platform | undefined, created: Created[]): Promise<void> {
  await removeFloorContainers();
  for (const c of created) {
    for (const label of [`saasodoo.instance.id=${c.id}`, `saasodoo.oneshot.instance=${c.id}`]) {
      for (const info of await docker.listContainers({ all: true, filters: { label: [label] } })) {
        await docker
          .getContainer(info.Id)
          .remove({ force: true })
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

interface Row {
  n: number;
  platform: PlatformSample[];
  floor: number[];
}

function table(header: string[], lines: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i]!.length)));
  const fmt = (cells: string[]) => cells.map((c, i) => c.padStart(widths[i]!)).join('  ');
  return `${fmt(header)}\n${widths.map((w) => '-'.repeat(w)).join('  ')}\n${lines.map(fmt).join('\n')}`;
}

function print(rows: Row[]): void {
  const ms = (value: number) => `${Math.round(value)} ms`;
  log(
    `\n${table(
      ['N at once', 'platform p50', 'platform p99', 'floor p50', 'floor p99', 'ratio p50', 'ratio p99'],
      rows.map((r) => {
        const totals = r.platform.map((s) => s.total);
        const [pp50, pp99, fp50, fp99] = [
          percentile(totals, 50),
          percentile(totals, 99),
          percentile(r.floor, 50),
          percentile(r.floor, 99),
        ];
        return [
          String(r.n),
          ms(pp50),
          ms(pp99),
          ms(fp50),
          ms(fp99),
          (pp50 / fp50).toFixed(2),
          (pp99 / fp99).toFixed(2),
        ];
      }),
    )}`,
  );
  log(
    `\nwhere the platform's time goes (p50 / p99):\n${table(
      ['N at once', 'API POST→201', 'queue create→provisioning', 'worker provisioning→running'],
      rows.map((r) => {
        const part = (pick: (s: PlatformSample) => number) => {
          const values = r.platform.map(pick);
          return `${ms(percentile(values, 50))} / ${ms(percentile(values, 99))}`;
        };
        return [String(r.n), part((s) => s.api), part((s) => s.queue), part((s) => s.worker)];
      }),
    )}`,
  );
}

async function main(): Promise<void> {
  loadEnvExample();
  process.env.NODE_ENV = 'test';
  const sizes = (process.env.BENCH_SIZES ?? '1,20').split(',').map((s) => Number(s.trim()));
  const rounds = Number(process.env.BENCH_ROUNDS ?? 1);
  if (sizes.some((n) => !Number.isInteger(n) || n < 1 || n > 45))
    throw new Error('BENCH_SIZES: integers 1..45');
  log(`bench:provision on ${cpus().length} CPU(s), node ${process.version}, image ${IMAGE}, run ${RUN_ID}`);
  log('building the stand-in image if needed …');
  execFileSync('bash', [join(ROOT, 'infrastructure/odoo-stub/build.sh')], { stdio: 'inherit' });

  let platform: Platform | undefined;
  const created: Created[] = [];
  try {
    platform = await startPlatform(Math.max(...sizes));
    log(`platform up (worker pid ${platform.worker.pid}, concurrency ${Math.max(...sizes)})`);
    const warmup = await newTenant(platform);
    await platformRound(platform, warmup, 1, created);
    await floorRound(1);
    await removeFloorContainers();
    await terminateAll(platform, warmup, created);
    log('warm-up done');

    const rows: Row[] = [];
    for (const n of sizes) {
      const row: Row = { n, platform: [], floor: [] };
      for (let round = 0; round < rounds; round++) {
        row.floor.push(...(await floorRound(n)));
        await removeFloorContainers();
        const tenant = await newTenant(platform);
        row.platform.push(...(await platformRound(platform, tenant, n, created)));
        await terminateAll(platform, tenant, created);
        log(
          `  N=${n} round ${round + 1}: platform ${row.platform
            .slice(-n)
            .map((sample) => sample.total)
            .join(', ')} ms; floor ${row.floor.slice(-n).join(', ')} ms`,
        );
      }
      rows.push(row);
    }
    print(rows);
    log(
      '\nplatform = HTTP create (auth, tenant-service membership + quota, password hash + AES-GCM seal, row + event) → BullMQ job →\n' +
        'worker: DB role + database (odoo_provisioner), volume, tenant network, `odoo --init` one-shot container,\n' +
        'admin credentials, instance container, /web/health → `running` recorded. floor = container create+start+health.',
    );
  } catch (error) {
    if (platform) process.stderr.write(`worker log (tail):\n${platform.workerLog.join('').slice(-4000)}\n`);
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
