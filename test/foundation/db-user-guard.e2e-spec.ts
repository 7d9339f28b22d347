import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { resolve } from 'node:path';
import { Client } from 'pg';
import { assertServiceCredentials, DbUserGuardError, SERVICE_DATABASES, ServiceName } from '@app/database';
import { adminSql, requireEnv, serviceTestEnv, startService, TEST_DB_SUFFIX } from '@app/testing';
import { AppModule as UserModule } from '../../apps/user-service/src/app.module';

const root = resolve(__dirname, '../..');
const suffix = randomBytes(4).toString('hex');
const superRole = `guard_super_${suffix}`;
const wideRole = `guard_wide_${suffix}`;
const rolePassword = `pw_${randomBytes(12).toString('hex')}`;
const authDb = `auth${TEST_DB_SUFFIX}`;
const billingDb = `billing${TEST_DB_SUFFIX}`;

/** Runs a built app with the tests' environment plus `env` and returns its exit code, stderr and run time. */
function runBuiltApp(service: ServiceName, env: Record<string, string>, timeoutMs = 15000) {
  const main = resolve(root, 'dist/apps', service, 'main.js');
  if (!existsSync(main)) throw new Error(`${main} is missing: run npm run build first (npm test does)`);
  return new Promise<{ code: number | null; stderr: string; ms: number }>((done) => {
    const started = Date.now();
    const inherited = Object.fromEntries(
      Object.entries(process.env).filter(
        ([key]) => !['DB_SERVICE_USER', 'DB_SERVICE_PASSWORD'].includes(key),
      ),
    );
    const child = spawn(process.execPath, [main], { env: { ...inherited, ...env }, cwd: root });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('exit', (code) => {
      clearTimeout(timer);
      done({ code, stderr, ms: Date.now() - started });
    });
  });
}

describe('DB-user guard: checks before connecting', () => {
  const good = { DB_SERVICE_USER: 'user_service', DB_SERVICE_PASSWORD: 'x' };

  it.each([
    ['missing user', { DB_SERVICE_PASSWORD: 'x' }, /needs DB_SERVICE_USER and DB_SERVICE_PASSWORD/],
    [
      'missing password',
      { DB_SERVICE_USER: 'user_service' },
      /needs DB_SERVICE_USER and DB_SERVICE_PASSWORD/,
    ],
    ['blank user', { DB_SERVICE_USER: '  ', DB_SERVICE_PASSWORD: 'x' }, /needs DB_SERVICE_USER/],
    [
      'the postgres role',
      { DB_SERVICE_USER: 'postgres', DB_SERVICE_PASSWORD: 'x' },
      /administrative role "postgres"/,
    ],
    [
      'the configured cluster admin',
      { DB_SERVICE_USER: 'cluster_admin', DB_SERVICE_PASSWORD: 'x', POSTGRES_USER: 'cluster_admin' },
      /administrative role "cluster_admin"/,
    ],
    [
      'the Odoo provisioner',
      { DB_SERVICE_USER: 'odoo_provisioner', DB_SERVICE_PASSWORD: 'x' },
      /administrative/,
    ],
    [
      'another service role',
      { DB_SERVICE_USER: 'billing_service', DB_SERVICE_PASSWORD: 'x' },
      /role of billing-service/,
    ],
  ])('refuses %s', (_name, env, message) => {
    expect(() => assertServiceCredentials('user-service', env)).toThrow(DbUserGuardError);
    expect(() => assertServiceCredentials('user-service', env)).toThrow(message);
  });

  it('accepts the service its own role, and the worker the instance role', () => {
    expect(assertServiceCredentials('user-service', good)).toEqual({ user: 'user_service', password: 'x' });
    expect(
      assertServiceCredentials('instance-worker', {
        DB_SERVICE_USER: 'instance_service',
        DB_SERVICE_PASSWORD: 'x',
      }),
    ).toEqual({ user: 'instance_service', password: 'x' });
  });
});

describe('DB-user guard: checks on the live connection (real roles)', () => {
  beforeAll(async () => {
    await adminSql(`
      CREATE ROLE ${superRole} LOGIN SUPERUSER PASSWORD '${rolePassword}';
      CREATE ROLE ${wideRole} LOGIN PASSWORD '${rolePassword}';
      GRANT CONNECT ON DATABASE ${authDb} TO ${wideRole};
      GRANT CONNECT ON DATABASE ${billingDb} TO ${wideRole};
    `);
  });
  afterAll(async () => {
    await adminSql(`
      REVOKE ALL ON DATABASE ${authDb} FROM ${wideRole};
      REVOKE ALL ON DATABASE ${billingDb} FROM ${wideRole};
      DROP ROLE IF EXISTS ${superRole};
      DROP ROLE IF EXISTS ${wideRole};
    `);
  });

  it('Postgres itself refuses user_service on the billing database', async () => {
    const client = new Client({
      host: process.env.POSTGRES_HOST ?? '127.0.0.1',
      port: Number(process.env.POSTGRES_PORT ?? 5432),
      user: 'user_service',
      password: requireEnv('USER_SERVICE_DB_PASSWORD'),
      database: billingDb,
    });
    await expect(client.connect()).rejects.toMatchObject({ code: '42501' });
    await client.end().catch(() => undefined);
  });

  it('every platform database grants CONNECT to its owner only', async () => {
    for (const [service, { database, role }] of Object.entries(SERVICE_DATABASES)) {
      if (service === 'instance-worker') continue;
      const client = new Client({
        host: process.env.POSTGRES_HOST ?? '127.0.0.1',
        port: Number(process.env.POSTGRES_PORT ?? 5432),
        user: role,
        password: serviceTestEnv(service as ServiceName).DB_SERVICE_PASSWORD,
        database: `${database}${TEST_DB_SUFFIX}`,
      });
      await client.connect();
      const { rows } = await client.query<{ datname: string }>(
        `SELECT datname FROM pg_database WHERE datname ~ '^(auth|tenant|instance|billing)${TEST_DB_SUFFIX}$'
           AND has_database_privilege(current_user, datname, 'CONNECT') ORDER BY 1`,
      );
      await client.end();
      expect(rows.map((r) => r.datname)).toEqual([`${database}${TEST_DB_SUFFIX}`]);
    }
  });

  it('refuses to start when the connected role is a superuser', async () => {
    const env = serviceTestEnv('user-service', {
      DB_SERVICE_USER: superRole,
      DB_SERVICE_PASSWORD: rolePassword,
    });
    await expect(startService(UserModule, 'user-service', env)).rejects.toThrow(/is a superuser/);
  });

  it("refuses to start when the role can connect to another service's database", async () => {
    const env = serviceTestEnv('user-service', {
      DB_SERVICE_USER: wideRole,
      DB_SERVICE_PASSWORD: rolePassword,
    });
    await expect(startService(UserModule, 'user-service', env)).rejects.toThrow(
      new RegExp(`can connect to another service's database \\(${billingDb}\\)`),
    );
  });

  it('the built app exits non-zero with one clear line when run as a superuser', async () => {
    const env = serviceTestEnv('user-service', {
      DB_SERVICE_USER: superRole,
      DB_SERVICE_PASSWORD: rolePassword,
    });
    const { code, stderr } = await runBuiltApp('user-service', env);
    expect(code).toBe(1);
    expect(stderr).toMatch(/^user-service: DB-user guard: .*superuser/m);
  });
});

describe('every app refuses a bad configuration, fast', () => {
  const apps: ServiceName[] = [
    'user-service',
    'tenant-service',
    'instance-service',
    'billing-service',
    'instance-worker',
  ];

  it.each(apps)('%s: lists every bad variable and exits 1', async (service) => {
    const env = serviceTestEnv(service, { PORT: 'not-a-port', LOG_LEVEL: 'loud', REDIS_URL: 'localhost' });
    const { code, stderr, ms } = await runBuiltApp(service, env);
    expect(code).toBe(1);
    expect(stderr).toContain(`${service}: Invalid configuration`);
    expect(stderr).toMatch(/PORT: /);
    expect(stderr).toMatch(/LOG_LEVEL: /);
    expect(stderr).toMatch(/REDIS_URL: /);
    expect(ms).toBeLessThan(10000);
  });

  it.each(apps)('%s: refuses to start without its database credentials', async (service) => {
    const env = serviceTestEnv(service);
    delete env.DB_SERVICE_PASSWORD;
    const { code, stderr } = await runBuiltApp(service, env);
    expect(code).toBe(1);
    expect(stderr).toMatch(
      new RegExp(`^${service}: DB-user guard: .*DB_SERVICE_USER and DB_SERVICE_PASSWORD`, 'm'),
    );
  });
});
