import Docker from 'dockerode';
import { randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  adminQuery,
  HOST_MODE_APPS,
  HostModeApp,
  HostPlatform,
  requireEnv,
  restartPostgres,
  startPostgres,
  stopDockerd,
  stopPostgres,
  stopRedis,
  strongPassword,
  linkInMail,
  MailInbox,
  uniqueEmail,
  waitFor,
} from '@app/testing';

/**
 * Issue #17: the platform as `npm run start:local` runs it survives restarts of Postgres, Redis and the Docker
 * engine while it works, without any process exiting, and every instance converges.
 */
const docker = new Docker({ socketPath: '/var/run/docker.sock' });
const runId = randomBytes(4).toString('hex');
const backupDir = join(tmpdir(), `restarts-backups-${runId}`);
let platform: HostPlatform;
let token = '';
let ids: string[] = [];

interface Reply<T = Record<string, unknown>> {
  status: number;
  body: T;
}

async function call<T = Record<string, unknown>>(
  app: HostModeApp,
  method: string,
  path: string,
  options: { body?: unknown; token?: string } = {},
): Promise<Reply<T>> {
  const res = await fetch(`${platform.url(app)}${path}`, {
    method,
    headers: {
      ...(options.body !== undefined ? { 'content-type': 'application/json' } : {}),
      ...(options.token ? { authorization: `Bearer ${options.token}` } : {}),
    },
    body: options.body !== undefined ? JSON.stringify(options.body) : undefined,
  });
  const text = await res.text();
  return { status: res.status, body: (text ? JSON.parse(text) : {}) as T };
}

async function readiness(): Promise<Record<string, number>> {
  const entries = await Promise.all(
    HOST_MODE_APPS.map(async (app) => {
      const res = await fetch(`${platform.url(app)}/health/ready`).catch(() => null);
      return [app, res?.status ?? 0] as const;
    }),
  );
  return Object.fromEntries(entries);
}

const allReady = (status: number) => Object.fromEntries(HOST_MODE_APPS.map((app) => [app, status]));

async function instanceStatuses(token: string, ids: string[]): Promise<string[]> {
  return Promise.all(
    ids.map(
      async (id) =>
        (await call<{ status: string }>('instance-service', 'GET', `/api/v1/instances/${id}`, { token })).body
          .status,
    ),
  );
}

async function waitForStatuses(
  token: string,
  ids: string[],
  status: string,
  timeoutMs = 180_000,
): Promise<void> {
  await waitFor(
    `instances ${status}`,
    async () => (await instanceStatuses(token, ids)).every((s) => s === status),
    timeoutMs,
  );
}

/** The same action on every test instance at once; each is accepted (202). */
async function actOnAll(action: string): Promise<void> {
  const replies = await Promise.all(
    ids.map((id) =>
      call('instance-service', 'POST', `/api/v1/instances/${id}/actions`, {
        token,
        body: { action, parameters: {} },
      }),
    ),
  );
  expect(replies.map((r) => r.status)).toEqual(ids.map(() => 202));
}

async function everyServiceReady(): Promise<void> {
  await waitFor(
    'every service ready again',
    async () => JSON.stringify(await readiness()) === JSON.stringify(allReady(200)),
    60_000,
  );
}

describe('dependency restarts under npm run start:local (issue #17)', () => {
  let tenantId = '';
  let pids: number[] = [];

  beforeAll(async () => {
    platform = new HostPlatform({
      portOffset: 21000,
      env: {
        ODOO_IMAGE_TEMPLATE: 'saasodoo/odoo-stub:{version}',
        BILLING_PROVIDER: 'none',
        QUEUE_PREFIX: `test-restarts-${runId}`,
        ODOO_NETWORK: `sotest-odoo-${runId}`,
        BACKUP_DIR: backupDir,
        RECONCILE_INTERVAL_MS: '2000',
        ODOO_STOP_TIMEOUT_SECONDS: '2',
        INSTANCE_PURGE_AFTER_SECONDS: '0',
        LOG_LEVEL: 'info',
      },
    });
    await platform.start();
    pids = HOST_MODE_APPS.map((app) => platform.pid(app));

    const email = uniqueEmail('restarts');
    const password = strongPassword();
    const registered = await call('user-service', 'POST', '/auth/register', {
      body: { email, password, first_name: 'Restart', last_name: 'Tester', accept_terms: true },
    });
    expect(registered.status).toBe(201);
    const mail = await new MailInbox(platform.printed('Mail inbox')).waitFor(email, /confirm your email/i);
    const verified = await call('user-service', 'POST', '/auth/verify-email', {
      body: { token: linkInMail(mail, '/verify-email').token },
    });
    expect(verified.status).toBe(200);
    const login = await call<{ tokens: { access_token: string } }>('user-service', 'POST', '/auth/login', {
      body: { email, password },
    });
    expect(login.status).toBe(200);
    token = login.body.tokens.access_token;
    const subdomain = `r-${runId}`;
    const tenant = await call<{ id: string }>('tenant-service', 'POST', '/api/v1/tenants', {
      token,
      body: { name: `Restarts ${runId}`, subdomain },
    });
    expect(tenant.status).toBe(201);
    tenantId = tenant.body.id;
    // Five instances need more than the starter plan: set the plan as billing would (plans are not self-service).
    const plan = await fetch(`${platform.url('tenant-service')}/internal/tenants/${tenantId}/plan`, {
      method: 'PUT',
      headers: { 'x-internal-token': requireEnv('INTERNAL_API_TOKEN'), 'content-type': 'application/json' },
      body: JSON.stringify({ plan: 'professional', actor: 'test' }),
    });
    expect(plan.status).toBe(200);
  }, 240_000);

  afterAll(async () => {
    if (token && ids.length) {
      for (const id of ids) {
        await call('instance-service', 'POST', `/api/v1/instances/${id}/actions`, {
          token,
          body: { action: 'terminate', parameters: {} },
        }).catch(() => undefined);
      }
      // Purge follows at once (INSTANCE_PURGE_AFTER_SECONDS=0): containers, volumes, databases and roles go.
      await waitFor(
        'the purge of every test instance',
        async () =>
          (await docker.listContainers({ all: true, filters: { label: [`saasodoo.tenant.id=${tenantId}`] } }))
            .length === 0,
        120_000,
      ).catch(() => undefined);
    }
    await platform?.dispose();
    rmSync(backupDir, { recursive: true, force: true });
  }, 180_000);

  it('Postgres restarted 300 ms after five instances were created: all run, one container, database and role each', async () => {
    const created = await Promise.all(
      [0, 1, 2, 3, 4].map((i) =>
        call<{ id: string; database_name: string }>('instance-service', 'POST', '/api/v1/instances/', {
          token,
          body: {
            tenant_id: tenantId,
            name: `Restart ${i}`,
            odoo_version: '17.0',
            instance_type: 'development',
            cpu_limit: 0.5,
            memory_limit: '512M',
            storage_limit: '5G',
            admin_email: 'admin@example.test',
            demo_data: false,
            database_name: `rs_${runId}_${i}`,
            subdomain: `rs-${runId}-${i}`,
          },
        }),
      ),
    );
    expect(created.map((c) => [c.status, c.status === 201 ? null : c.body])).toEqual(
      created.map(() => [201, null]),
    );
    ids = created.map((c) => c.body.id);
    await sleep(300);
    await restartPostgres();

    await waitForStatuses(token, ids, 'running');
    for (const [i, id] of ids.entries()) {
      const containers = await docker.listContainers({
        all: true,
        filters: { label: [`saasodoo.instance.id=${id}`] },
      });
      expect([id, containers.filter((c) => !c.Labels['saasodoo.oneshot.instance']).length]).toEqual([id, 1]);
      const dbs = await adminQuery<{ n: number }>(
        `SELECT count(*)::int AS n FROM pg_database WHERE datname = 'rs_${runId}_${i}'`,
      );
      expect(dbs[0]?.n).toBe(1);
      const roles = await adminQuery<{ n: number }>(
        `SELECT count(*)::int AS n FROM pg_roles WHERE rolname = 'odoo_${id.replace(/-/g, '')}'`,
      );
      expect(roles[0]?.n).toBe(1);
    }
  }, 300_000);

  it('every /health/ready answers 503 while Postgres is down and 200 after, with no process restarted', async () => {
    await stopPostgres();
    try {
      await waitFor(
        'every service to report Postgres down',
        async () => {
          const now = await readiness();
          return HOST_MODE_APPS.every((app) => now[app] === 503) && now;
        },
        30_000,
      );
    } finally {
      await startPostgres();
    }
    await everyServiceReady();
  }, 120_000);

  it('Redis restarted while five stops run: all reach stopped; readiness follows Redis', async () => {
    await actOnAll('stop');
    await waitFor(
      'a stop in flight',
      async () => (await instanceStatuses(token, ids)).includes('stopping'),
      10_000,
      20,
    );
    const redis = await stopRedis();
    try {
      await waitFor(
        'every service to report Redis down',
        async () => {
          const now = await readiness();
          return HOST_MODE_APPS.every((app) => now[app] === 503) && now;
        },
        30_000,
      );
    } finally {
      await redis.start();
    }
    await everyServiceReady();
    await waitForStatuses(token, ids, 'stopped');
  }, 300_000);

  it('the Docker engine restarted during five backups: every backup completes, every instance is back as it was', async () => {
    await actOnAll('start');
    await waitForStatuses(token, ids, 'running');
    await actOnAll('backup');
    await waitFor(
      'a backup in flight',
      async () => (await instanceStatuses(token, ids)).includes('backing_up'),
      10_000,
      20,
    );
    const engine = await stopDockerd();
    try {
      await waitFor(
        'the worker to report Docker down',
        async () => (await readiness())['instance-worker'] === 503,
        30_000,
      );
    } finally {
      await engine.start();
    }
    await everyServiceReady();
    await waitForStatuses(token, ids, 'running', 240_000);
    for (const id of ids) {
      const list = await call<{ backups: { status: string }[] }>(
        'instance-service',
        'GET',
        `/api/v1/instances/${id}/backups`,
        {
          token,
        },
      );
      expect([id, list.body.backups.some((b) => b.status === 'completed')]).toEqual([id, true]);
    }
  }, 400_000);

  it('no process exited or restarted, and no log shows an unhandled error', () => {
    expect(HOST_MODE_APPS.map((app) => platform.pid(app))).toEqual(pids);
    expect(platform.output()).not.toMatch(/exited unexpectedly/);
    expect(platform.logs()).not.toMatch(
      /Unhandled 'error' event|unhandledRejection|UnhandledPromiseRejection|uncaughtException/,
    );
  });

  it('a child killed outright is restarted with backoff while the others keep running', async () => {
    const worker = platform.pid('instance-worker');
    process.kill(worker, 'SIGKILL');
    await platform.waitForOutput(
      /instance-worker exited unexpectedly \(code 137\); restart 1 in 1 s/,
      15_000,
    );
    await platform.waitForOutput(/instance-worker restarted \(pid \d+\)/, 15_000);
    expect(platform.pid('instance-worker')).not.toBe(worker);
    await waitFor(
      'the restarted worker to be ready',
      async () => (await readiness())['instance-worker'] === 200,
      60_000,
    );
    const others = HOST_MODE_APPS.filter((app) => app !== 'instance-worker');
    expect(others.map((app) => platform.pid(app))).toEqual(
      others.map((app) => pids[HOST_MODE_APPS.indexOf(app)]),
    );
    expect(await readiness()).toEqual(allReady(200));
  }, 120_000);
});
