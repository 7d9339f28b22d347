import Docker from 'dockerode';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Client } from 'pg';
import { DataSource } from 'typeorm';
import { buildDataSourceOptions, runMigrationsWithLock } from '@app/database';
import type { InstanceAction, InstanceStatus } from '@app/contracts';
import {
  InstanceSecrets,
  InstancesRepository,
  type InstanceEntity,
  type NewInstance,
  type RecordedIntent,
} from '@app/instance-data';
import { LifecycleQueue, type LifecycleJobParams } from '@app/queue';
import { adminSql, freePort, serviceTestEnv, startService, waitFor, type ServiceHarness } from '@app/testing';
export { waitFor };
import { AppModule } from '../../src/app.module';
import { LifecycleWorker } from '../../src/lifecycle/lifecycle-worker';
import { dataSourceSpec } from '../../src/database/data-source';
import { resourceNames } from '../../src/lifecycle/instance-naming';

export const STUB_TEMPLATE = 'saasodoo/odoo-stub:{version}';
export const docker = new Docker({ socketPath: '/var/run/docker.sock' });

/** Settings every worker under test gets: its own queue namespace, fast timings, the stand-in image. */
export function workerEnv(runId: string, overrides: Record<string, string> = {}): Record<string, string> {
  return serviceTestEnv('instance-worker', {
    // A database of its own: the reconciler sweeps every instance of its database, and other suites
    // (and other workers) use instance_test at the same time.
    POSTGRES_DB: `instance_test_${runId}`,
    QUEUE_PREFIX: `test-${runId}`,
    ODOO_IMAGE_TEMPLATE: STUB_TEMPLATE,
    ODOO_NETWORK: `sotest-odoo-${runId}`,
    RECONCILE_INTERVAL_MS: '1000',
    PROVISION_HEALTH_TIMEOUT_MS: '8000',
    INSTANCE_PURGE_AFTER_SECONDS: '0',
    BACKUP_DIR: join(tmpdir(), `saasodoo-backups-${runId}`),
    MANUAL_BACKUPS_KEEP: '2',
    // Tests that want scheduled backups turn them on; others must not get one in the middle of a run.
    BACKUP_SCHEDULE: 'off',
    QUEUE_LOCK_DURATION_MS: '3000',
    QUEUE_STALLED_INTERVAL_MS: '1500',
    ODOO_STOP_TIMEOUT_SECONDS: '2',
    WORKER_CONCURRENCY: '4',
    PUBLISH_INSTANCE_PORTS: 'true',
    LOG_LEVEL: process.env.TEST_WORKER_LOG_LEVEL ?? 'error',
    ...overrides,
  });
}

/** The built worker (`npm run build` first, as CI does), for tests that SIGKILL a real process. */
export const WORKER_MAIN = resolve(__dirname, '../../../../dist/apps/instance-worker/main.js');

export interface WorkerProcess {
  child: ChildProcess;
  output: () => string;
}

export function assertWorkerBuilt(): void {
  if (!existsSync(WORKER_MAIN)) {
    throw new Error(
      `${WORKER_MAIN} is missing: build the worker first (npm run build / bash scripts/build.sh instance-worker)`,
    );
  }
}

/** Starts the built worker as its own process with `env`; resolves once it consumes the queue. */
export async function startWorkerProcess(env: Record<string, string>): Promise<WorkerProcess> {
  const port = await freePort();
  const child = spawn(process.execPath, [WORKER_MAIN], {
    env: { ...process.env, ...env, PORT: String(port), NODE_ENV: 'test' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const worker = { child, output: () => output };
  try {
    await waitFor(
      'the worker process to consume',
      async () => {
        if (child.exitCode !== null) throw new Error(`worker exited ${child.exitCode}: ${output}`);
        const res = await fetch(`http://127.0.0.1:${port}/metrics`).catch(() => null);
        return res?.ok && /lifecycle_worker_consuming\{[^}]*\} 1/.test(await res.text());
      },
      30_000,
      100,
    );
  } catch (error) {
    await killWorkerProcess(worker);
    throw error;
  }
  return worker;
}

export async function killWorkerProcess(worker: WorkerProcess): Promise<void> {
  if (worker.child.exitCode !== null || worker.child.signalCode !== null) return;
  worker.child.kill('SIGKILL');
  await waitFor(
    'the worker to die',
    async () => worker.child.exitCode !== null || worker.child.signalCode !== null,
  );
}

/** Runs `cmd` in a running container; output is stdout and stderr with Docker's frame headers removed. */
export async function execIn(
  containerId: string,
  cmd: string[],
): Promise<{ exitCode: number; output: string }> {
  const execution = await docker
    .getContainer(containerId)
    .exec({ Cmd: cmd, AttachStdout: true, AttachStderr: true });
  const stream = await execution.start({ hijack: true, stdin: false });
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  let inspect = await execution.inspect();
  while (inspect.Running) {
    await sleep(50);
    inspect = await execution.inspect();
  }
  const raw = Buffer.concat(chunks);
  const parts: Buffer[] = [];
  for (let offset = 0; offset + 8 <= raw.length;) {
    const size = raw.readUInt32BE(offset + 4);
    parts.push(raw.subarray(offset + 8, offset + 8 + size));
    offset += 8 + size;
  }
  return { exitCode: inspect.ExitCode ?? -1, output: Buffer.concat(parts).toString('utf8') };
}

/**
 * Test access to the instance database and the queue, independent of any worker (so workers can be
 * started, killed and restarted around it), plus the cleanup of everything a test created.
 */
export class LifecycleTestKit {
  readonly runId = randomBytes(4).toString('hex');
  readonly env: Record<string, string>;
  readonly instanceIds: string[] = [];
  readonly tenantIds = new Set<string>();
  private harness?: ServiceHarness;
  private readonly workers: ServiceHarness[] = [];

  constructor(overrides: Record<string, string> = {}) {
    this.env = workerEnv(this.runId, overrides);
  }

  private databaseReady?: Promise<void>;

  get database(): string {
    return this.env.POSTGRES_DB ?? '';
  }

  /** Creates this kit's own instance database (owned by instance_service, CONNECT for it only). */
  ensureDatabase(): Promise<void> {
    this.databaseReady ??= adminSql(
      `CREATE DATABASE "${this.database}" OWNER instance_service;
       REVOKE ALL ON DATABASE "${this.database}" FROM PUBLIC;
       GRANT CONNECT, TEMPORARY ON DATABASE "${this.database}" TO instance_service;`,
    );
    return this.databaseReady;
  }

  /** An in-process worker (the real AppModule) that consumes once its init succeeded. */
  async startWorker(overrides: Record<string, string> = {}): Promise<ServiceHarness> {
    await this.ensureDatabase();
    const harness = await startService(AppModule, 'instance-worker', { ...this.env, ...overrides });
    await harness.app.get(LifecycleWorker).whenStarted();
    this.workers.push(harness);
    this.harness ??= harness;
    return harness;
  }

  async stopWorker(harness: ServiceHarness): Promise<void> {
    const index = this.workers.indexOf(harness);
    if (index >= 0) this.workers.splice(index, 1);
    if (this.harness === harness) this.harness = this.workers[0];
    await harness.close();
  }

  get app(): ServiceHarness {
    if (!this.harness) throw new Error('start a worker first');
    return this.harness;
  }

  private data?: {
    dataSource: DataSource;
    instances: InstancesRepository;
    queue: LifecycleQueue;
    secrets: InstanceSecrets;
  };

  /**
   * Direct access to this kit's database and queue without an in-process worker (for tests whose workers
   * are child processes). Migrations are applied as the worker would.
   */
  async openData(): Promise<void> {
    await this.ensureDatabase();
    if (this.data) return;
    const env = this.env;
    const dataSource = await new DataSource(
      buildDataSourceOptions(dataSourceSpec, {
        POSTGRES_HOST: env.POSTGRES_HOST ?? '127.0.0.1',
        POSTGRES_PORT: Number(env.POSTGRES_PORT ?? 5432),
        POSTGRES_DB: this.database,
        DB_SERVICE_USER: env.DB_SERVICE_USER,
        DB_SERVICE_PASSWORD: env.DB_SERVICE_PASSWORD,
        DB_POOL_SIZE: 4,
        DB_RUN_MIGRATIONS: true,
        DB_CONNECT_TIMEOUT_MS: 5000,
      }),
    ).initialize();
    await runMigrationsWithLock(dataSource, 'migrations');
    this.data = {
      dataSource,
      instances: new InstancesRepository(dataSource),
      queue: new LifecycleQueue({ redisUrl: env.REDIS_URL ?? '', prefix: env.QUEUE_PREFIX }),
      secrets: new InstanceSecrets(process.env.INSTANCE_SECRETS_KEY ?? ''),
    };
  }

  get dataSource(): DataSource {
    return this.data?.dataSource ?? this.app.app.get(DataSource);
  }

  get instances(): InstancesRepository {
    return this.data?.instances ?? this.app.app.get(InstancesRepository);
  }

  get queue(): LifecycleQueue {
    return this.data?.queue ?? this.app.app.get(LifecycleQueue);
  }

  get secrets(): InstanceSecrets {
    return this.data?.secrets ?? this.app.app.get(InstanceSecrets);
  }

  newInstance(overrides: Partial<NewInstance> = {}): NewInstance {
    const id = randomUUID();
    const short = id.slice(0, 8);
    const tenantId = overrides.tenantId ?? randomUUID();
    this.tenantIds.add(tenantId);
    this.instanceIds.push(id);
    return {
      id,
      tenantId,
      customerId: randomUUID(),
      name: `test ${short}`,
      description: null,
      odooVersion: '17.0',
      instanceType: 'development',
      cpuLimit: 0.5,
      memoryLimit: '256M',
      storageLimit: '1G',
      adminEmail: 'admin@example.com',
      adminPasswordHash: 'not-a-real-hash',
      adminPasswordEnc: this.secrets.encrypt(id, 'admin_password', 'Admin-Passw0rd'),
      demoData: false,
      databaseName: `sotest_${this.runId}_${short}`,
      subdomain: `sotest-${short}`,
      customAddons: [],
      disabledModules: [],
      environmentVars: {},
      metadata: {},
      planName: null,
      ...overrides,
    };
  }

  /** Creates an entitled instance and enqueues its provisioning, as the API does. */
  async create(overrides: Partial<NewInstance> = {}): Promise<InstanceEntity> {
    const recorded = await this.instances.create(this.newInstance(overrides), {
      entitled: true,
      actor: 'test',
    });
    await this.enqueue(recorded);
    return recorded.instance;
  }

  async act(id: string, action: InstanceAction, params: LifecycleJobParams = {}): Promise<string> {
    const recorded = await this.instances.requestAction(id, action, params, { actor: 'test-user' });
    return this.enqueue(recorded);
  }

  async enqueue(recorded: RecordedIntent): Promise<string> {
    if (!recorded.job) return '';
    return (await this.queue.enqueue(recorded.job)).jobId;
  }

  async get(id: string): Promise<InstanceEntity> {
    return this.instances.getById(id);
  }

  async waitForStatus(id: string, status: InstanceStatus, timeoutMs = 30_000): Promise<InstanceEntity> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const row = await this.get(id);
      if (row.status === status) return row;
      if (row.status === 'error' && status !== 'error') {
        throw new Error(`instance ${id} went to error instead of ${status}: ${row.lastError}`);
      }
      if (Date.now() > deadline) {
        throw new Error(
          `timed out waiting for ${id} to be ${status} (last ${row.status}: ${row.statusReason})`,
        );
      }
      await sleep(100);
    }
  }

  /** Waits until the instance has no pending operation and is in `status`. */
  async waitForOperation(id: string, status: InstanceStatus, timeoutMs = 30_000): Promise<InstanceEntity> {
    return waitFor(
      `operation of ${id} to finish in ${status}`,
      async () => {
        const row = await this.get(id);
        return row.pendingOperation === null && row.status === status ? row : null;
      },
      timeoutMs,
    );
  }

  names(row: InstanceEntity) {
    return resourceNames(row);
  }

  /** Containers (running or not) labelled with the instance id. */
  async containersOf(id: string): Promise<Docker.ContainerInfo[]> {
    return docker.listContainers({ all: true, filters: { label: [`saasodoo.instance.id=${id}`] } });
  }

  async volumesOf(id: string): Promise<string[]> {
    const { Volumes } = await docker.listVolumes({ filters: { label: [`saasodoo.instance.id=${id}`] } });
    return (Volumes ?? []).map((v) => v.Name);
  }

  /** Counts of the Postgres database and role of the instance (as the cluster admin sees them). */
  async pgObjects(row: InstanceEntity): Promise<{ databases: number; roles: number }> {
    const names = this.names(row);
    return this.pgCountsByName(names.database, names.dbRole);
  }

  /** Counts of a database and a role by name (e.g. a spare's, before or after an instance adopted it). */
  async pgCountsByName(database: string, role: string): Promise<{ databases: number; roles: number }> {
    const client = await this.adminClient();
    try {
      const dbs = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [database]);
      const roles = await client.query('SELECT 1 FROM pg_roles WHERE rolname = $1', [role]);
      return { databases: dbs.rowCount ?? 0, roles: roles.rowCount ?? 0 };
    } finally {
      await client.end();
    }
  }

  /** Until the instance's container runs while its provisioning is not done (the stand-in's boot delay). */
  async waitForContainerBooting(id: string): Promise<void> {
    await waitFor(
      'the container to run while provisioning',
      async () => {
        const [container] = await this.containersOf(id);
        const row = await this.get(id);
        return container?.State === 'running' && row.status === 'provisioning';
      },
      30_000,
      20,
    );
  }

  /** A connection to the instance's database as its own role (the password comes from the row). */
  async instanceDb(row: InstanceEntity): Promise<Client> {
    const fresh = await this.get(row.id);
    if (!fresh.dbPasswordEnc) throw new Error('no db password recorded');
    const client = new Client({
      host: process.env.POSTGRES_HOST ?? '127.0.0.1',
      port: Number(process.env.POSTGRES_PORT ?? 5432),
      user: this.names(fresh).dbRole,
      password: this.secrets.decrypt(fresh.id, 'db_password', fresh.dbPasswordEnc),
      database: fresh.databaseName,
    });
    await client.connect();
    return client;
  }

  async hostPortHealth(row: InstanceEntity): Promise<number> {
    const fresh = await this.get(row.id);
    if (!fresh.hostPort) throw new Error('no host port recorded');
    const response = await fetch(`http://127.0.0.1:${fresh.hostPort}/web/health`, {
      signal: AbortSignal.timeout(3000),
    });
    return response.status;
  }

  /** Removes everything this kit's instances may have left: containers, volumes, networks, DBs, roles, rows. */
  async cleanup(): Promise<void> {
    for (const worker of [...this.workers]) await this.stopWorker(worker).catch(() => undefined);
    if (this.data) {
      await this.data.queue.close().catch(() => undefined);
      await this.data.dataSource.destroy().catch(() => undefined);
      this.data = undefined;
    }
    for (const id of this.instanceIds) {
      for (const c of await docker.listContainers({
        all: true,
        filters: { label: [`saasodoo.instance.id=${id}`] },
      })) {
        await docker
          .getContainer(c.Id)
          .remove({ force: true, v: true })
          .catch(() => undefined);
      }
      for (const c of await docker.listContainers({
        all: true,
        filters: { label: [`saasodoo.oneshot.instance=${id}`] },
      })) {
        await docker
          .getContainer(c.Id)
          .remove({ force: true, v: true })
          .catch(() => undefined);
      }
      const { Volumes } = await docker.listVolumes({ filters: { label: [`saasodoo.instance.id=${id}`] } });
      for (const v of Volumes ?? [])
        await docker
          .getVolume(v.Name)
          .remove()
          .catch(() => undefined);
    }
    for (const tenantId of this.tenantIds) {
      const name = `saasodoo_tenant_${tenantId}`;
      // By listing, not by name: a name can be ambiguous if a bug ever created it twice.
      const networks = (await docker.listNetworks({ filters: { name: [name] } })).filter(
        (n) => n.Name === name,
      );
      for (const { Id } of networks) {
        const info = (await docker.getNetwork(Id).inspect()) as Docker.NetworkInspectInfo;
        for (const containerId of Object.keys(info.Containers ?? {})) {
          await docker
            .getNetwork(Id)
            .disconnect({ Container: containerId, Force: true })
            .catch(() => undefined);
        }
        await docker
          .getNetwork(Id)
          .remove()
          .catch(() => undefined);
      }
    }
    const client = await this.adminClient();
    try {
      const { rows } = await client.query<{ datname: string }>(
        `SELECT datname FROM pg_database WHERE datname LIKE $1`,
        [`sotest\\_${this.runId}\\_%`],
      );
      for (const { datname } of rows) await adminSql(`DROP DATABASE IF EXISTS "${datname}" WITH (FORCE)`);
      // Other databases an instance role owns (a test restore's bkverify_*, a restore's rst_*/old_*) would keep
      // its role from being dropped.
      const roles = this.instanceIds.map((id) => `odoo_${id.replace(/-/g, '')}`);
      const owned = await client.query<{ datname: string }>(
        `SELECT datname FROM pg_database WHERE pg_get_userbyid(datdba) = ANY($1)`,
        [roles],
      );
      for (const { datname } of owned.rows)
        await adminSql(`DROP DATABASE IF EXISTS "${datname}" WITH (FORCE)`);
      for (const id of this.instanceIds) {
        await adminSql(`DROP ROLE IF EXISTS "odoo_${id.replace(/-/g, '')}"`);
      }
    } finally {
      await client.end();
    }
    await rm(this.env.BACKUP_DIR ?? '/nonexistent', { recursive: true, force: true });
    if (this.databaseReady) await adminSql(`DROP DATABASE IF EXISTS "${this.database}" WITH (FORCE)`);
    const queue = new LifecycleQueue({
      redisUrl: this.env.REDIS_URL ?? 'redis://127.0.0.1:6379',
      prefix: this.env.QUEUE_PREFIX,
    });
    await queue.queue.obliterate({ force: true }).catch(() => undefined);
    await queue.close();
  }

  private async adminClient(): Promise<Client> {
    // pg_database / pg_roles are readable by any role: the instance service role is enough to look.
    const client = new Client({
      host: process.env.POSTGRES_HOST ?? '127.0.0.1',
      port: Number(process.env.POSTGRES_PORT ?? 5432),
      user: 'odoo_provisioner',
      password: process.env.ODOO_PROVISIONER_PASSWORD,
      database: 'postgres',
    });
    await client.connect();
    return client;
  }
}
