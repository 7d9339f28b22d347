/**
 * npm run chaos [-- --short] — runs the real platform in host mode (start:local, stand-in Odoo image, the Kill
 * Bill emulator) through a bounded workload while faults are injected one at a time, then checks the end state
 * and prints one table. Exit code 1 when any check fails.
 *
 * Workload: N instances created at once (10; --short 3), each stopped, backed up, restored and started; one
 * upgraded (17.0 → 18.0); two terminated; Kill Bill notifications (2,000; --short 300; 30 % duplicates,
 * shuffled) pushed throughout and retried until accepted, as Kill Bill does.
 * Faults: restart Postgres, restart Redis, restart dockerd, SIGKILL each service and the worker, fill the
 * backup filesystem to ENOSPC while backups run.
 * Self-contained: the platform runs on a Postgres cluster, a Redis server and a backup tmpfs of its own
 * (made here, removed at the end), so only dockerd is shared with the machine. CHAOS_SKIP=dockerd,… leaves
 * faults out (for development); CHAOS_PORT_OFFSET moves the ports (default 16000: every port stays below the ephemeral range, 32768 and up).
 */
import 'reflect-metadata';
import Docker from 'dockerode';
import { randomBytes } from 'node:crypto';
import { cpSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  adminQuery,
  HOST_MODE_APPS,
  HostPlatform,
  linkInMail,
  MailInbox,
  removeInstanceResources,
  strongPassword,
  uniqueEmail,
  waitFor,
} from '@app/testing';
import { KillBillEmulator } from '../libs/testing/src/killbill-emulator/killbill-emulator';
import { KillBillClient } from '../apps/billing-service/src/killbill/killbill.client';
import { EndStateChecks } from './chaos/checks';
import { ChaosClient } from './chaos/client';
import { ChaosRow, FaultInjector, FaultName, jitter } from './chaos/faults';
import { KillBillPushSender, notificationBodies, sha256 } from './chaos/notifications';
import { BackupVolume, PrivatePostgres, PrivateRedis } from './chaos/private-deps';
import { shuffle } from './bench-load';
import { ChaosCustomer, ChaosInstance, ChaosWorkload } from './chaos/workload';

const short = process.argv.includes('--short');
const settings = {
  instances: short ? 3 : 10,
  notifications: short ? 300 : 2000,
  gapMs: short ? [1000, 3000] : [4000, 12_000],
  senderDurationMs: short ? 60_000 : 240_000,
  stepTimeoutMs: 240_000,
};
const offset = Number(process.env.CHAOS_PORT_OFFSET ?? 16_000);
const skipped = new Set((process.env.CHAOS_SKIP ?? '').split(',').filter(Boolean));
const runId = randomBytes(3).toString('hex');
const scratch = mkdtempSync(join(tmpdir(), `chaos-${runId}-`));
const suffix = '_chaos';
const db = {
  instance: `instance${suffix}`,
  billing: `billing${suffix}`,
  platform: ['auth', 'tenant', 'instance', 'billing'].map((name) => `${name}${suffix}`),
};
const docker = new Docker({ socketPath: '/var/run/docker.sock' });

const startedAt = Date.now();

function log(line: string): void {
  process.stdout.write(`chaos [${((Date.now() - startedAt) / 1000).toFixed(0)} s]: ${line}\n`);
}

function table(rows: ChaosRow[]): string {
  const cells = rows.map((r) => [
    r.name,
    r.at === null ? '' : r.at.toFixed(1),
    r.recovery === null ? '' : r.recovery.toFixed(1),
    r.checked,
    r.pass ? 'pass' : 'FAIL',
  ]);
  const head = ['fault / check', 'at (s)', 'recovery (s)', 'what was checked', 'result'];
  const widths = head.map((h, i) =>
    Math.max(h.length, ...cells.map((c) => (i === 3 ? 0 : (c[i] ?? '').length))),
  );
  const line = (c: string[]) =>
    `| ${c.map((v, i) => (i === 3 ? v : v.padEnd(widths[i] ?? 0))).join(' | ')} |`;
  return [
    line(head),
    `|${widths.map((w, i) => '-'.repeat(i === 3 ? 18 : w + 2)).join('|')}|`,
    ...cells.map(line),
  ].join('\n');
}

/** A customer as a person makes one: register, the link in the verification mail, login, a tenant. */
async function signUp(client: ChaosClient, inbox: MailInbox, index: number): Promise<ChaosCustomer> {
  const email = uniqueEmail(`chaos${index}`);
  const password = strongPassword();
  const registered = await client.steady('user-service', 'POST', '/auth/register', {
    body: { email, password, first_name: 'Chaos', last_name: `Customer ${index}`, accept_terms: true },
  });
  if (registered.status !== 201)
    throw new Error(`register: ${registered.status} ${JSON.stringify(registered.body)}`);
  const mail = await inbox.waitFor(email, /confirm your email/i, 60_000);
  await client.steady('user-service', 'POST', '/auth/verify-email', {
    body: { token: linkInMail(mail, '/verify-email').token },
  });
  const login = await client.steady<{ tokens: { access_token: string } }>(
    'user-service',
    'POST',
    '/auth/login',
    {
      body: { email, password },
    },
  );
  if (login.status !== 200) throw new Error(`login: ${login.status} ${JSON.stringify(login.body)}`);
  const token = login.body.tokens.access_token;
  const tenant = await client.steady<{ id: string }>('tenant-service', 'POST', '/api/v1/tenants', {
    token,
    body: { name: `Chaos ${runId} ${index}`, subdomain: `chaos-${runId}-${index}` },
  });
  if (tenant.status !== 201) throw new Error(`tenant: ${tenant.status} ${JSON.stringify(tenant.body)}`);
  return { token, tenantId: tenant.body.id };
}

async function killBillAccounts(url: string, apiKey: string, apiSecret: string): Promise<string[]> {
  const killbill = new KillBillClient({
    url,
    username: 'admin',
    password: 'password',
    apiKey,
    apiSecret,
    createdBy: 'chaos',
    timeoutMs: 5000,
    retries: 0,
  });
  try {
    // billing-service makes the Kill Bill tenant at boot; accounts can be made once it exists.
    return await waitFor(
      'the Kill Bill tenant billing-service makes',
      async () => {
        const ids: string[] = [];
        for (let i = 0; i < 5; i++) {
          ids.push(
            await killbill.createAccount({
              externalKey: `chaos-${runId}-${i}-${Date.now()}`,
              name: `Chaos ${i}`,
              currency: 'USD',
            }),
          );
        }
        return ids;
      },
      60_000,
      500,
    );
  } finally {
    killbill.close();
  }
}

async function main(): Promise<number> {
  const pg = new PrivatePostgres(offset + 432, runId);
  const redis = new PrivateRedis(offset + 379, join(scratch, 'redis'));
  const volume = new BackupVolume(join(scratch, 'backups'), short ? 64 : 128);
  const kb = new KillBillEmulator({});
  const internalToken = randomBytes(24).toString('hex');
  const webhookSecret = randomBytes(24).toString('hex');
  const kbKey = `chaos-${runId}`;
  const kbSecret = randomBytes(16).toString('hex');
  let platform: HostPlatform | undefined;
  let instances: ChaosInstance[] = [];
  let customers: ChaosCustomer[] = [];
  let workload: ChaosWorkload | undefined;
  const rows: ChaosRow[] = [];
  let cleaned: Promise<void> | undefined;
  /** Removes everything the run made; once, also on SIGINT/SIGTERM. */
  const cleanup = (): Promise<void> =>
    (cleaned ??= (async () => {
      try {
        const made = instances.length ? instances : (workload?.instances ?? []);
        if (made.length || customers.length) {
          await removeInstanceResources(
            made.map((i) => ({ id: i.id, database_name: i.databaseName })),
            customers.map((c) => c.tenantId),
          ).catch(() => undefined);
        }
        await platform?.dispose();
        await docker
          .getNetwork(`chaos-odoo-${runId}`)
          .remove()
          .catch(() => undefined);
        await kb.stop().catch(() => undefined);
        await redis.stop();
        volume.unmount();
        pg.drop();
      } finally {
        rmSync(scratch, { recursive: true, force: true });
      }
    })());
  /** A failed run keeps the processes' logs and the backup and event rows, for whoever reads the table. */
  const keepEvidence = async (): Promise<void> => {
    const kept = join(tmpdir(), `chaos-${runId}-evidence`);
    mkdirSync(kept, { recursive: true });
    if (platform) cpSync(join(platform.localDir, 'logs'), join(kept, 'logs'), { recursive: true });
    for (const table of ['instance_backups', 'instance_events', 'instances']) {
      const dump = await adminQuery(`SELECT * FROM ${table} ORDER BY created_at`, db.instance);
      writeFileSync(join(kept, `${table}.json`), JSON.stringify(dump, null, 1));
    }
    log(`a check failed: logs and rows kept in ${kept}`);
  };
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      process.stdout.write(`chaos: ${signal}, removing what the run made\n`);
      void cleanup().finally(() => process.exit(130));
    });
  }
  try {
    log(
      `run ${runId} (${short ? 'short' : 'full'}): private Postgres :${pg.port}, Redis :${redis.port}, backups on tmpfs ${volume.dir}`,
    );
    await pg.create();
    await redis.start();
    volume.mount();
    const { url: kbUrl } = await kb.start();
    // The helpers of @app/testing (restartPostgres, adminQuery) and start:local read these.
    Object.assign(process.env, {
      POSTGRES_HOST: '127.0.0.1',
      POSTGRES_PORT: String(pg.port),
      REDIS_URL: redis.url,
    });
    delete process.env.POSTGRES_PASSWORD;
    platform = new HostPlatform({
      portOffset: offset,
      skipBuild: process.env.CHAOS_SKIP_BUILD === '1',
      readyTimeoutMs: 300_000,
      env: {
        ODOO_DB_HOST: '127.0.0.1',
        ODOO_DB_PORT: String(pg.port),
        DB_NAME_SUFFIX: suffix,
        ODOO_IMAGE_TEMPLATE: 'saasodoo/odoo-stub:{version}',
        BILLING_PROVIDER: 'killbill',
        KILLBILL_URL: kbUrl,
        KILLBILL_API_KEY: kbKey,
        KILLBILL_API_SECRET: kbSecret,
        KILLBILL_WEBHOOK_SECRET: webhookSecret,
        INTERNAL_API_TOKEN: internalToken,
        QUEUE_PREFIX: `chaos-${runId}`,
        ODOO_NETWORK: `chaos-odoo-${runId}`,
        BACKUP_DIR: volume.dir,
        RECONCILE_INTERVAL_MS: '2000',
        ODOO_STOP_TIMEOUT_SECONDS: '2',
        INSTANCE_PURGE_AFTER_SECONDS: '0',
        ACCESS_TOKEN_TTL_SECONDS: '3600',
        LOG_LEVEL: 'info',
        // Every customer registers and logs in from 127.0.0.1.
        RATE_LIMIT_REGISTER_PER_IP: '1000',
        RATE_LIMIT_LOGIN_PER_IP: '1000',
        RATE_LIMIT_EMAIL_PER_IP: '1000',
      },
    });
    await platform.start();
    const client = new ChaosClient(platform, internalToken);
    const inbox = new MailInbox(platform.printed('Mail inbox'));
    customers = await Promise.all(
      Array.from({ length: settings.instances }, (_, i) => signUp(client, inbox, i)),
    );
    const [first] = customers;
    if (!first) throw new Error('no customer');
    client.token = first.token;
    const accounts = await killBillAccounts(kbUrl, kbKey, kbSecret);
    log(
      `platform up: ${customers.length} customers with a tenant each, ${accounts.length} Kill Bill accounts`,
    );

    const bodies = notificationBodies(accounts, settings.notifications);
    const webhook = `${platform.url('billing-service')}/api/billing/webhooks/killbill?token=${webhookSecret}`;
    const sender = new KillBillPushSender(webhook, bodies, 4, settings.senderDurationMs);
    const probes = new Set<string>();
    const progress = async (): Promise<boolean> => {
      const listed = await client.call(
        'instance-service',
        'GET',
        `/api/v1/instances?tenant_id=${first.tenantId}`,
        {
          timeoutMs: 5000,
        },
      );
      if (listed?.status !== 200) return false;
      const probe = JSON.stringify({
        eventType: 'TAG_CREATION',
        accountId: accounts[0],
        objectType: 'TAG',
        objectId: randomBytes(16).toString('hex'),
        metaData: '{}',
      });
      const pushed = await fetch(webhook, {
        method: 'POST',
        headers: { 'content-type': 'application/json; charset=UTF-8' },
        body: probe,
        signal: AbortSignal.timeout(5000),
      }).catch(() => null);
      if (pushed?.ok) probes.add(sha256(probe));
      return pushed?.ok === true;
    };
    const injector = new FaultInjector(client, redis, volume, progress, 180_000);

    // ENOSPC comes with the first backup: the disk is full when backups are requested, then freed.
    let filled: () => void = () => undefined;
    const diskFull = new Promise<void>((done) => (filled = done));
    let enospc: Promise<ChaosRow> | undefined;
    const enospcFailures: string[] = [];
    const beforeFirstBackup = async (): Promise<void> => {
      if (skipped.has('enospc')) return;
      enospc = injector.inject('backup volume ENOSPC', async () => {
        filled();
        const failed = await waitFor(
          'a backup to fail on the full disk',
          async () => {
            const rows = await adminQuery<{ id: string }>(
              `SELECT id FROM instance_backups WHERE status = 'failed' AND error ~* 'ENOSPC|no space'`,
              db.instance,
            ).catch(() => []);
            enospcFailures.push(...rows.map((r) => r.id).filter((id) => !enospcFailures.includes(id)));
            return rows.length > 0 && rows.length;
          },
          90_000,
          250,
        ).catch(() => 0);
        return failed
          ? `${failed} backup(s) failed with ENOSPC while it was full`
          : 'NO backup failed while it was full';
      });
      await diskFull;
    };

    workload = new ChaosWorkload(
      client,
      customers,
      runId,
      db.instance,
      settings.stepTimeoutMs,
      beforeFirstBackup,
    );
    const faults: FaultName[] = shuffle([
      'restart Postgres' as const,
      'restart Redis' as const,
      'restart dockerd' as const,
      ...HOST_MODE_APPS.map((app) => `SIGKILL ${app}` as const),
    ]).filter(
      (f) =>
        !skipped.has(
          f === 'restart dockerd'
            ? 'dockerd'
            : f === 'restart Postgres'
              ? 'postgres'
              : f === 'restart Redis'
                ? 'redis'
                : f.replace('SIGKILL ', ''),
        ),
    );
    const killed = faults.filter((f) => f.startsWith('SIGKILL')).length;

    const sending = sender.run();
    const working = workload.run().then(
      () => null,
      (error: unknown) => (error instanceof Error ? error.message : String(error)),
    );
    const injecting = (async () => {
      for (const fault of faults) {
        await jitter(settings.gapMs[0] ?? 1000, settings.gapMs[1] ?? 3000);
        await injector.inject(fault);
      }
    })();
    const [workloadError] = await Promise.all([working, injecting, sending]);
    instances = workload.instances;
    const enospcRow = await enospc;
    const injected = injector.rows;
    rows.push(...injected);
    if (enospcRow) enospcRow.pass &&= !/NO backup failed/.test(enospcRow.checked);
    rows.push({
      name: 'workload',
      at: null,
      recovery: null,
      checked: workloadError
        ? `FAILED: ${workloadError}`
        : `${instances.length} created at once; each stopped, backed up, restored, started; 1 upgraded, 2 terminated; ${sender.stats.sent} pushes (${sender.stats.failedAttempts} failed attempts retried); ${client.elapsed().toFixed(0)} s; ${workload.nudges.length ? `customer had to retry: ${workload.nudges.join('; ')}` : 'no instance needed a customer retry'}`,
      pass: !workloadError,
    });

    log('workload and faults done; checking the end state');
    const checks = new EndStateChecks(client, instances, db, volume.dir, settings.instances);
    rows.push(await checks.converged(workloadError ? 10_000 : 180_000));
    rows.push(await checks.acceptedRequestsHaveEffect());
    rows.push(
      await checks.notifications(
        new Set([...sender.acceptedHashes, ...probes]),
        new Set(bodies.map(sha256)).size + probes.size,
        sender.stats.dropped,
        120_000,
      ),
    );
    rows.push(await checks.provisionedOnce());
    rows.push(
      await checks.noOrphans(
        'end: 0 orphans',
        instances.filter((i) => i.expected.status !== 'terminated'),
      ),
    );
    rows.push(await checks.backups(enospcFailures));
    rows.push(checks.processes(killed));

    log('end state checked; terminating every instance');
    // Teardown through the API: every instance terminated and purged leaves nothing at all.
    for (const instance of instances.filter((i) => i.expected.status !== 'terminated')) {
      await client.steady('instance-service', 'POST', `/api/v1/instances/${instance.id}/actions`, {
        body: { action: 'terminate', parameters: {} },
        token: instance.token,
      });
      instance.expected.status = 'terminated';
    }
    await waitFor('every instance purged', async () => (await checks.leftovers()) === 0, 120_000, 1000).catch(
      () => undefined,
    );
    rows.push(await checks.noOrphans('teardown: all terminated, nothing left', []));
  } catch (error) {
    rows.push({
      name: 'run',
      at: null,
      recovery: null,
      checked: `aborted: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`,
      pass: false,
    });
  } finally {
    if (rows.some((r) => !r.pass)) await keepEvidence().catch(() => undefined);
    await cleanup();
  }
  process.stdout.write(
    `\nchaos ${short ? '--short ' : ''}run ${runId} (${((Date.now() - startedAt) / 1000).toFixed(0)} s in all)\n${table(rows)}\n`,
  );
  const failed = rows.filter((r) => !r.pass).length;
  process.stdout.write(failed ? `\nchaos: ${failed} check(s) FAILED\n` : '\nchaos: every check passed\n');
  return failed ? 1 : 0;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(
      `chaos failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
    );
    process.exit(1);
  },
);
