import {
  createAdmin,
  createVerifiedCustomer,
  randomIp,
  serviceTestEnv,
  ServiceHarness,
  SmtpSink,
  strongPassword,
  TestCustomer,
  uniqueEmail,
} from '@app/testing';
import { CliIo, runCli } from '../src/cli/cli';
import { adminBootstrap, bearer, db, startOtherService, startUserService } from './support';

function captureIo(stdin = ''): CliIo & { stdout: string[]; stderr: string[] } {
  const stdout: string[] = [];
  const stderr: string[] = [];
  return {
    stdout,
    stderr,
    out: (line) => stdout.push(line),
    err: (line) => stderr.push(line),
    readStdin: async () => stdin,
  };
}

describe('user-service: roles, admin routes, internal routes, admin CLI', () => {
  const smtp = new SmtpSink();
  let users: ServiceHarness;
  let other: ServiceHarness;
  let customer: TestCustomer;
  let admin: TestCustomer;
  const internalToken = process.env.INTERNAL_API_TOKEN ?? '';

  beforeAll(async () => {
    await smtp.start();
    users = await startUserService(smtp);
    other = await startOtherService();
    customer = await createVerifiedCustomer(users, smtp);
    admin = await createAdmin(users, adminBootstrap(users));
  });
  afterAll(async () => {
    await other?.close();
    await users?.close();
    await smtp.stop();
  });

  it('keeps customers out of /admin/* (403) and anonymous callers out (401), in user-service and elsewhere', async () => {
    const asCustomer = await users.request({
      method: 'GET',
      url: '/admin/users',
      headers: bearer(customer.access_token),
    });
    expect(asCustomer.statusCode).toBe(403);
    expect(asCustomer.json()).toMatchObject({ code: 'ADMIN_REQUIRED' });
    const deactivate = await users.request({
      method: 'POST',
      url: `/admin/users/${admin.id}/deactivate`,
      headers: bearer(customer.access_token),
    });
    expect(deactivate.statusCode).toBe(403);
    expect((await users.request({ method: 'GET', url: '/admin/users' })).statusCode).toBe(401);
    expect(
      (await other.request({ method: 'GET', url: '/admin/probe', headers: bearer(customer.access_token) }))
        .statusCode,
    ).toBe(403);
    const asAdmin = await other.request({
      method: 'GET',
      url: '/admin/probe',
      headers: bearer(admin.access_token),
    });
    expect(asAdmin.statusCode).toBe(200);
    expect(asAdmin.json()).toEqual({ admin: admin.id });
  });

  it('accepts only the service credential on /internal/*, never a customer (or admin) token', async () => {
    const url = `/internal/users/${customer.id}`;
    for (const headers of [
      {},
      bearer(customer.access_token),
      bearer(admin.access_token),
      { 'x-internal-token': 'x'.repeat(40) },
      { 'x-internal-token': `${internalToken}x` },
      { 'x-internal-token': '' },
    ]) {
      const res = await users.request({ method: 'GET', url, headers });
      expect(res.statusCode).toBe(401);
      expect(res.json()).toMatchObject({ code: 'INTERNAL_AUTH_REQUIRED' });
    }
    const ok = await users.request({ method: 'GET', url, headers: { 'x-internal-token': internalToken } });
    expect(ok.statusCode).toBe(200);
    expect(ok.json()).toMatchObject({
      id: customer.id,
      email: customer.email,
      is_active: true,
      role: 'customer',
    });
    const missing = await users.request({
      method: 'GET',
      url: '/internal/users/00000000-0000-4000-8000-000000000000',
      headers: { 'x-internal-token': internalToken },
    });
    expect(missing.statusCode).toBe(404);

    expect(
      (
        await other.request({
          method: 'POST',
          url: '/internal/probe',
          headers: bearer(customer.access_token),
        })
      ).statusCode,
    ).toBe(401);
    expect(
      (
        await other.request({
          method: 'POST',
          url: '/internal/probe',
          headers: { 'x-internal-token': internalToken },
        })
      ).statusCode,
    ).toBe(201);
  });

  it('lists users for admins: paged, newest first, searchable by email and name, filterable', async () => {
    const tag = `zeta${Date.now().toString(36)}`;
    const made: TestCustomer[] = [];
    for (let i = 0; i < 3; i++) {
      made.push(
        await createVerifiedCustomer(users, smtp, {
          email: uniqueEmail(tag),
          last_name: `Searchable ${tag}`,
        }),
      );
    }
    const page1 = await users.request({
      method: 'GET',
      url: `/admin/users?search=${tag}&page=1&page_size=2`,
      headers: bearer(admin.access_token),
    });
    expect(page1.statusCode).toBe(200);
    const body1 = page1.json();
    expect(body1).toMatchObject({ total: 3, page: 1, page_size: 2 });
    expect(body1.items.map((u: { id: string }) => u.id)).toEqual([made[2]!.id, made[1]!.id]);
    expect(body1.items[0]).toMatchObject({ email: made[2]!.email, is_active: true, role: 'customer' });
    expect(body1.items[0]).not.toHaveProperty('password_hash');
    const page2 = await users.request({
      method: 'GET',
      url: `/admin/users?search=${tag}&page=2&page_size=2`,
      headers: bearer(admin.access_token),
    });
    expect(page2.json().items.map((u: { id: string }) => u.id)).toEqual([made[0]!.id]);
    const byName = await users.request({
      method: 'GET',
      url: `/admin/users?search=${encodeURIComponent(`Test Searchable ${tag}`)}`,
      headers: bearer(admin.access_token),
    });
    expect(byName.json().total).toBe(3);
    const wildcard = await users.request({
      method: 'GET',
      url: `/admin/users?search=%25${tag}_`,
      headers: bearer(admin.access_token),
    });
    expect(wildcard.json().total).toBe(0);
    const admins = await users.request({
      method: 'GET',
      url: `/admin/users?role=admin&page_size=100`,
      headers: bearer(admin.access_token),
    });
    expect(admins.json().items.every((u: { role: string }) => u.role === 'admin')).toBe(true);
    for (const bad of ['page=0', 'page_size=101', 'role=root', 'is_active=maybe', 'sort=email']) {
      const res = await users.request({
        method: 'GET',
        url: `/admin/users?${bad}`,
        headers: bearer(admin.access_token),
      });
      expect(res.statusCode).toBe(400);
      expect(res.json()).toMatchObject({ code: 'VALIDATION_FAILED' });
    }
  });

  it('lets an admin deactivate a user: their sessions die everywhere and they cannot log in', async () => {
    const victim = await createVerifiedCustomer(users, smtp);
    const res = await users.request({
      method: 'POST',
      url: `/admin/users/${victim.id}/deactivate`,
      headers: bearer(admin.access_token),
    });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ id: victim.id, is_active: false, deactivated_at: expect.any(String) });
    expect(
      (await other.request({ method: 'GET', url: '/protected', headers: bearer(victim.access_token) }))
        .statusCode,
    ).toBe(401);
    expect(
      (
        await users.request({
          method: 'POST',
          url: '/auth/refresh',
          payload: { refresh_token: victim.refresh_token },
        })
      ).statusCode,
    ).toBe(401);
    const login = await users.request({
      method: 'POST',
      url: '/auth/login',
      remoteAddress: randomIp(),
      payload: { email: victim.email, password: victim.password },
    });
    expect(login.statusCode).toBe(403);
    expect(login.json()).toMatchObject({ code: 'ACCOUNT_DEACTIVATED' });

    expect(
      (
        await users.request({
          method: 'POST',
          url: `/admin/users/${admin.id}/deactivate`,
          headers: bearer(admin.access_token),
        })
      ).json(),
    ).toMatchObject({ code: 'CANNOT_DEACTIVATE_SELF' });
    expect(
      (
        await users.request({
          method: 'POST',
          url: '/admin/users/00000000-0000-4000-8000-000000000000/deactivate',
          headers: bearer(admin.access_token),
        })
      ).statusCode,
    ).toBe(404);
    expect(
      (
        await users.request({
          method: 'POST',
          url: '/admin/users/not-a-uuid/deactivate',
          headers: bearer(admin.access_token),
        })
      ).statusCode,
    ).toBe(400);
  });

  it('has no API that makes an admin: unknown fields such as role are refused at registration', async () => {
    const email = uniqueEmail();
    const res = await users.request({
      method: 'POST',
      url: '/auth/register',
      remoteAddress: randomIp(),
      payload: {
        email,
        password: strongPassword(),
        first_name: 'Mal',
        last_name: 'Lory',
        accept_terms: true,
        role: 'admin',
      },
    });
    expect(res.statusCode).toBe(400);
    const rows = await db(users).query(`SELECT 1 FROM users WHERE email = $1`, [email]);
    expect(rows).toHaveLength(0);
  });

  describe('npm run cli -- create-admin', () => {
    const env = () => ({ ...process.env, ...serviceTestEnv('user-service') });

    it('creates a verified admin with a generated password printed once, who can log in and reach /admin', async () => {
      const email = uniqueEmail('ops');
      const io = captureIo();
      expect(await runCli(['create-admin', email.toUpperCase()], io, env())).toBe(0);
      expect(io.stdout[0]).toMatch(new RegExp(`^created admin ${email} \\(id [0-9a-f-]{36}\\)$`));
      const password = /^password: (.+)$/.exec(io.stdout[1] ?? '')?.[1];
      expect(password).toBeDefined();
      const login = await users.request({
        method: 'POST',
        url: '/auth/login',
        remoteAddress: randomIp(),
        payload: { email, password },
      });
      expect(login.statusCode).toBe(200);
      expect(login.json().customer).toMatchObject({ role: 'admin', is_verified: true });
      const list = await users.request({
        method: 'GET',
        url: '/admin/users',
        headers: bearer(login.json().tokens.access_token),
      });
      expect(list.statusCode).toBe(200);
    });

    it('takes the password from stdin, checks it against the policy, and promotes an existing account', async () => {
      const weak = captureIo('weakpass\n');
      expect(await runCli(['create-admin', uniqueEmail('ops'), '--password-stdin'], weak, env())).toBe(1);
      expect(weak.stderr.join('\n')).toContain('upper-case');

      const existing = await createVerifiedCustomer(users, smtp);
      const chosen = strongPassword();
      const io = captureIo(`${chosen}\n`);
      expect(await runCli(['create-admin', existing.email, '--password-stdin'], io, env())).toBe(0);
      expect(io.stdout.join('\n')).toContain(`promoted existing account ${existing.email}`);
      expect(io.stdout.join('\n')).not.toContain('password:');
      const login = await users.request({
        method: 'POST',
        url: '/auth/login',
        remoteAddress: randomIp(),
        payload: { email: existing.email, password: chosen },
      });
      expect(login.json().customer).toMatchObject({ id: existing.id, role: 'admin' });
    });

    it('ensure-admin creates the first admin once, then leaves it alone, and never promotes a customer', async () => {
      const email = uniqueEmail('first-admin');
      const first = captureIo();
      expect(await runCli(['ensure-admin', email], first, env())).toBe(0);
      expect(first.stdout[0]).toMatch(new RegExp(`^created admin ${email} \\(id [0-9a-f-]{36}\\)$`));
      const password = /^password: (.+)$/.exec(first.stdout[1] ?? '')?.[1] ?? '';
      const [row] = (await db(users).query(`SELECT password_hash FROM users WHERE email = $1`, [email])) as {
        password_hash: string;
      }[];
      expect(row?.password_hash).toMatch(/^\$argon2id\$/);
      expect(row?.password_hash).not.toContain(password);

      const again = captureIo();
      expect(await runCli(['ensure-admin', email], again, env())).toBe(0);
      expect(again.stdout).toEqual([
        expect.stringMatching(new RegExp(`^admin ${email} exists .*nothing changed$`)),
      ]);
      const login = await users.request({
        method: 'POST',
        url: '/auth/login',
        remoteAddress: randomIp(),
        payload: { email, password },
      });
      expect(login.statusCode).toBe(200);
      expect(login.json().customer).toMatchObject({ role: 'admin' });

      const customer = await createVerifiedCustomer(users, smtp);
      const refused = captureIo();
      expect(await runCli(['ensure-admin', customer.email], refused, env())).toBe(1);
      expect(refused.stderr.join('\n')).toContain('is a customer account');
      const [still] = (await db(users).query(`SELECT role FROM users WHERE id = $1`, [customer.id])) as {
        role: string;
      }[];
      expect(still?.role).toBe('customer');
    });

    it('refuses bad usage and a bad configuration with a clear message and a non-zero code', async () => {
      const usage = captureIo();
      expect(await runCli(['create-admin'], usage, env())).toBe(2);
      expect(usage.stderr.join('\n')).toContain('Usage: npm run cli');
      const unknown = captureIo();
      expect(await runCli(['drop-database'], unknown, env())).toBe(2);
      const notEmail = captureIo();
      expect(await runCli(['create-admin', 'not-an-email'], notEmail, env())).toBe(1);
      expect(notEmail.stderr.join('\n')).toContain('not an email address');
      const rogue = captureIo();
      expect(
        await runCli(['create-admin', uniqueEmail()], rogue, { ...env(), DB_SERVICE_USER: 'postgres' }),
      ).toBe(1);
      expect(rogue.stderr.join('\n')).toContain('DB-user guard');
    });
  });
});
