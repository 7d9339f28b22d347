import { execFileSync } from 'node:child_process';
import { resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  adminQuery,
  adminSql,
  HostPlatform,
  linkInMail,
  MailInbox,
  removeInstanceResources,
  strongPassword,
  uniqueEmail,
} from '@app/testing';

/**
 * Issue #16: the README's quickstart, followed as a newcomer would on a fresh machine: no platform databases,
 * no .env, no .local/, a shell without the tests' settings. Only what start:local prints is used: its URLs,
 * the inbox's own HTTP API for the verification link, the printed admin login. No SQL on the way (only the
 * clean-up at the end uses it).
 */
const SUFFIX = '_test_firstrun';
const DATABASES = ['auth', 'tenant', 'instance', 'billing'].map((d) => `${d}${SUFFIX}`);
const platform = new HostPlatform({
  portOffset: 22000,
  cleanEnv: true,
  // The suffix keeps these databases apart from the other suites' (README: DB_NAME_SUFFIX).
  env: { DB_NAME_SUFFIX: SUFFIX },
  readyTimeoutMs: 300_000,
});

async function dropPlatformDatabases(): Promise<void> {
  for (const name of DATABASES) await adminSql(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
}

async function json<T>(res: Response): Promise<{ status: number; body: T }> {
  return { status: res.status, body: (await res.json()) as T };
}

function post(url: string, body: unknown, token?: string): Promise<Response> {
  return fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify(body),
  });
}

function serviceUrl(output: string, name: string): string {
  const url = new RegExp(`^\\s*${name}\\s+(http://\\S+)`, 'm').exec(output)?.[1];
  if (!url) throw new Error(`start:local printed no URL for ${name}`);
  return url;
}

async function waitForRunning(
  instanceUrl: string,
  token: string,
): Promise<{ status: string; image: string | null }> {
  const deadline = Date.now() + 180_000;
  for (;;) {
    const view = await json<{ status: string; image: string | null }>(
      await fetch(instanceUrl, { headers: { authorization: `Bearer ${token}` } }),
    );
    if (view.body.status === 'running' || Date.now() > deadline) return view.body;
    await sleep(500);
  }
}

describe('the first ten minutes: README quickstart on a fresh machine (issue #16)', () => {
  beforeAll(dropPlatformDatabases);
  afterAll(async () => {
    await platform.stop('SIGINT');
    const instances = await adminQuery<{ id: string; database_name: string; tenant_id: string }>(
      `SELECT id, database_name, tenant_id FROM instances`,
      `instance${SUFFIX}`,
    ).catch(() => []);
    await removeInstanceResources(instances, [...new Set(instances.map((i) => i.tenant_id))]);
    await dropPlatformDatabases();
    await platform.dispose();
    // The fresh .env gave the (cluster-wide) service roles random passwords: give back the tests' own.
    execFileSync('bash', ['infrastructure/postgres/setup-host.sh'], {
      cwd: resolve(__dirname, '../..'),
      stdio: 'ignore',
    });
  }, 180_000);

  it('start, register, verify by the emailed link, create a tenant and a running instance, log in as the admin, Ctrl-C', async () => {
    const started = Date.now();
    await platform.start();
    const upSeconds = (Date.now() - started) / 1000;
    const out = platform.output();
    expect(out).toContain('created ' + platform.envFile);
    // No registry here: one clear line names the stand-in, which instances then run.
    expect(out).toMatch(
      /Odoo image odoo:17\.0 is not on this machine and cannot be pulled; instances run the stand-in saasodoo\/odoo-stub:\{version\}/,
    );

    const users = serviceUrl(out, 'user-service');
    const tenants = serviceUrl(out, 'tenant-service');
    const instances = serviceUrl(out, 'instance-service');
    const inbox = new MailInbox(platform.printed('Mail inbox'));
    const adminEmail = platform.printed('Admin');
    const adminPassword = /Admin\s+\S+\s+password: (\S+)/.exec(out)?.[1] ?? '';
    expect(adminPassword.length).toBeGreaterThanOrEqual(16);

    const email = uniqueEmail('newcomer');
    const password = strongPassword();
    const registered = await post(`${users}/auth/register`, {
      email,
      password,
      first_name: 'New',
      last_name: 'Comer',
      accept_terms: true,
    });
    expect(registered.status).toBe(201);
    const link = linkInMail(await inbox.waitFor(email, /confirm your email/i), '/verify-email');
    // The link opens the portal (built by npm run build, served by start:local), which verifies with the token.
    expect(link.url.startsWith(`${platform.printed('Portal')}/verify-email?token=`)).toBe(true);
    const page = await fetch(link.url);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('<div id="root">');
    expect((await post(`${users}/auth/verify-email`, { token: link.token })).status).toBe(200);
    const login = await json<{ tokens: { access_token: string } }>(
      await post(`${users}/auth/login`, { email, password }),
    );
    expect(login.status).toBe(200);
    const token = login.body.tokens.access_token;

    const tenant = await json<{ id: string }>(
      await post(
        `${tenants}/api/v1/tenants`,
        { name: 'First Company', subdomain: `first-${Date.now().toString(36)}` },
        token,
      ),
    );
    expect(tenant.status).toBe(201);
    const created = await json<{ id: string }>(
      await post(
        `${instances}/api/v1/instances/`,
        {
          tenant_id: tenant.body.id,
          name: 'First ERP',
          odoo_version: '17.0',
          admin_email: email,
          database_name: `first_${Date.now().toString(36)}`,
        },
        token,
      ),
    );
    expect(created.status).toBe(201);
    const running = await waitForRunning(`${instances}/api/v1/instances/${created.body.id}`, token);
    expect(running).toMatchObject({ status: 'running', image: 'saasodoo/odoo-stub:17.0' });
    const firstRunningSeconds = (Date.now() - started) / 1000;
    process.stdout.write(
      `first run: platform up in ${upSeconds.toFixed(1)} s, first instance running ${firstRunningSeconds.toFixed(1)} s after start:local began\n`,
    );

    const admin = await json<{ customer: { role: string } }>(
      await post(`${users}/auth/login`, { email: adminEmail, password: adminPassword }),
    );
    expect(admin.status).toBe(200);
    expect(admin.body.customer.role).toBe('admin');

    expect(await platform.stop('SIGINT')).toBe(0);
    expect(platform.output()).toContain('all stopped');
    expect(platform.leftoverProcesses()).toEqual([]);
  }, 420_000);

  it('a second start says the admin exists (no new password); --demo adds a running demo instance, twice the same', async () => {
    await platform.stop('SIGINT'); // already stopped unless the first test failed half-way
    const demo = new HostPlatform({
      portOffset: 22000,
      cleanEnv: true,
      env: {
        DB_NAME_SUFFIX: SUFFIX,
        START_LOCAL_ENV_FILE: platform.envFile,
        START_LOCAL_DIR: platform.localDir,
      },
      args: ['--demo'],
      readyTimeoutMs: 300_000,
    });
    try {
      await demo.start();
      const first = demo.output();
      expect(first).not.toContain('created ' + platform.envFile);
      expect(first).toMatch(
        /Admin\s+admin@saasodoo\.localhost\s+\(made on the first start; forgot the password\?/,
      );
      expect(first).not.toMatch(/Admin\s+\S+\s+password:/);
      const instanceId = /instance ([0-9a-f-]{36}) running saasodoo\/odoo-stub:17\.0/.exec(first)?.[1];
      expect(instanceId).toBeDefined();
      const demoLogin = /Demo\s+customer (\S+)\s+password: (\S+)/.exec(first);
      expect(demoLogin?.[1]).toBe('demo@saasodoo.localhost');
      expect(await demo.stop('SIGINT')).toBe(0);

      await demo.start();
      expect(demo.output()).toContain(`instance ${instanceId} running`);
      const login = await post(`${serviceUrl(demo.output(), 'user-service')}/auth/login`, {
        email: demoLogin?.[1],
        password: demoLogin?.[2],
      });
      expect(login.status).toBe(200);
      expect(await demo.stop('SIGINT')).toBe(0);
      expect(demo.leftoverProcesses()).toEqual([]);
    } finally {
      await demo.dispose();
    }
  }, 600_000);
});
