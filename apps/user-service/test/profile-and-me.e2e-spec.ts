import { createServer, IncomingMessage, Server } from 'node:http';
import { AddressInfo } from 'node:net';
import { createVerifiedCustomer, randomIp, ServiceHarness, SmtpSink, TestCustomer } from '@app/testing';
import { bearer, db, startOtherService, startUserService } from './support';

interface Seen {
  url: string;
  token: string | undefined;
  requestId: string | undefined;
}

/** A stand-in for another service's internal API: answers what `reply` says and records what it was asked. */
async function fakeService(
  reply: (req: IncomingMessage) => { status: number; body: unknown } | 'hang',
): Promise<{ url: string; seen: Seen[]; close: () => Promise<void> }> {
  const seen: Seen[] = [];
  const server: Server = createServer((req, res) => {
    seen.push({
      url: req.url ?? '',
      token: req.headers['x-internal-token'] as string | undefined,
      requestId: req.headers['x-request-id'] as string | undefined,
    });
    const answer = reply(req);
    if (answer === 'hang') return;
    res.writeHead(answer.status, { 'content-type': 'application/json' }).end(JSON.stringify(answer.body));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    seen,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

describe('user-service: profile', () => {
  const smtp = new SmtpSink();
  let users: ServiceHarness;
  let other: ServiceHarness;

  beforeAll(async () => {
    await smtp.start();
    users = await startUserService(smtp);
    other = await startOtherService();
  });
  afterAll(async () => {
    await other?.close();
    await users?.close();
    await smtp.stop();
  });

  it('persists every field PUT /users/profile accepts, and returns it on GET', async () => {
    const customer = await createVerifiedCustomer(users, smtp);
    const update = {
      first_name: '  Nnamdi ',
      last_name: 'Okafor',
      phone: '+263771234567',
      company: 'Harare Widgets (Pvt) Ltd',
      country: 'Zimbabwe',
      timezone: 'Africa/Harare',
      language: 'pt-BR',
      marketing_consent: true,
    };
    const put = await users.request({
      method: 'PUT',
      url: '/users/profile',
      headers: bearer(customer.access_token),
      payload: update,
    });
    expect(put.statusCode).toBe(200);
    const expected = {
      ...update,
      first_name: 'Nnamdi',
      id: customer.id,
      email: customer.email,
      role: 'customer',
      is_verified: true,
    };
    expect(put.json()).toMatchObject(expected);
    const get = await users.request({
      method: 'GET',
      url: '/users/profile',
      headers: bearer(customer.access_token),
    });
    expect(get.json()).toMatchObject(expected);
    const [row] = await db(users).query(
      `SELECT first_name, last_name, phone, company, country, timezone, language, marketing_consent FROM users WHERE id = $1`,
      [customer.id],
    );
    expect(row).toEqual({ ...update, first_name: 'Nnamdi' });

    const cleared = await users.request({
      method: 'PUT',
      url: '/users/profile',
      headers: bearer(customer.access_token),
      payload: { phone: null, company: null },
    });
    expect(cleared.json()).toMatchObject({
      phone: null,
      company: null,
      country: 'Zimbabwe',
      first_name: 'Nnamdi',
    });

    for (const bad of [
      { timezone: 'Mars/Olympus' },
      { phone: '0771234567' },
      { first_name: null },
      { first_name: '' },
      { language: 'english!' },
    ]) {
      const res = await users.request({
        method: 'PUT',
        url: '/users/profile',
        headers: bearer(customer.access_token),
        payload: bad,
      });
      expect(res.statusCode).toBe(400);
    }
  });

  it('requires a live session', async () => {
    expect((await users.request({ method: 'GET', url: '/users/profile' })).statusCode).toBe(401);
    expect((await users.request({ method: 'PUT', url: '/users/profile', payload: {} })).statusCode).toBe(401);
  });

  it('DELETE /users/account?confirmation=DELETE with the password deactivates the account and ends every session', async () => {
    const instances = await fakeService(() => ({ status: 200, body: { instances: [] } }));
    const withInstances = await startUserService(smtp, { INSTANCE_SERVICE_URL: instances.url });
    try {
      const customer = await createVerifiedCustomer(withInstances, smtp);
      const second = (
        await withInstances.request({
          method: 'POST',
          url: '/auth/login',
          remoteAddress: randomIp(),
          payload: { email: customer.email, password: customer.password },
        })
      ).json().tokens;
      const res = await withInstances.request({
        method: 'DELETE',
        url: '/users/account?confirmation=DELETE',
        headers: bearer(customer.access_token),
        payload: { password: customer.password },
      });
      expect(res.statusCode).toBe(200);
      expect(res.json()).toMatchObject({ success: true, terminated_instances: [] });
      expect(instances.seen.map((seen) => seen.url)).toEqual([
        `/internal/customers/${customer.id}/instances`,
      ]);
      for (const token of [customer.access_token, second.access_token]) {
        expect(
          (await other.request({ method: 'GET', url: '/protected', headers: bearer(token) })).statusCode,
        ).toBe(401);
      }
      const [row] = await db(users).query(`SELECT is_active, deactivated_at FROM users WHERE id = $1`, [
        customer.id,
      ]);
      expect(row.is_active).toBe(false);
      expect(row.deactivated_at).toBeInstanceOf(Date);
      const login = await users.request({
        method: 'POST',
        url: '/auth/login',
        remoteAddress: randomIp(),
        payload: { email: customer.email, password: customer.password },
      });
      expect(login.json()).toMatchObject({ code: 'ACCOUNT_DEACTIVATED' });
    } finally {
      await withInstances.close();
      await instances.close();
    }
  });

  it('DELETE /users/account: a wrong or missing password deletes nothing; instance-service down is a 503', async () => {
    const customer = await createVerifiedCustomer(users, smtp);
    const attempt = (payload?: Record<string, unknown>) =>
      users.request({
        method: 'DELETE',
        url: '/users/account?confirmation=DELETE',
        headers: bearer(customer.access_token),
        ...(payload ? { payload } : {}),
      });
    const wrong = await attempt({ password: `${customer.password}x` });
    expect(wrong.statusCode).toBe(403);
    expect(wrong.json()).toMatchObject({ code: 'PASSWORD_INCORRECT' });
    const missing = await attempt();
    expect(missing.statusCode).toBe(400);
    expect(missing.json()).toMatchObject({ code: 'VALIDATION_FAILED' });
    // This user-service reaches no instance-service: it cannot know the instances, so it deletes nothing.
    const blind = await attempt({ password: customer.password });
    expect(blind.statusCode).toBe(503);
    expect(blind.json()).toMatchObject({ code: 'DEPENDENCY_UNAVAILABLE' });
    const [row] = await db(users).query(`SELECT is_active FROM users WHERE id = $1`, [customer.id]);
    expect(row.is_active).toBe(true);
    expect(
      (await other.request({ method: 'GET', url: '/protected', headers: bearer(customer.access_token) }))
        .statusCode,
    ).toBe(200);
  });
});

describe('user-service: GET /auth/me reads the other services, and says when one is down', () => {
  const smtp = new SmtpSink();

  beforeAll(() => smtp.start());
  afterAll(() => smtp.stop());

  it('returns null fields and one warning per service when none of them answers (their endpoints do not exist yet)', async () => {
    const users = await startUserService(smtp);
    try {
      const customer = await createVerifiedCustomer(users, smtp);
      const res = await users.request({
        method: 'GET',
        url: '/auth/me',
        headers: bearer(customer.access_token),
      });
      expect(res.statusCode).toBe(200);
      expect(res.json()).toMatchObject({
        id: customer.id,
        email: customer.email,
        first_name: customer.first_name,
        role: 'customer',
        is_verified: true,
        tenant_count: null,
        tenants: null,
        instance_count: null,
        instances_by_status: null,
        subscription_summary: null,
        warnings: [
          'tenant-service unavailable',
          'instance-service unavailable',
          'billing-service unavailable',
        ],
      });
    } finally {
      await users.close();
    }
  });

  it('uses the real answer of a service that answers, with the service credential, and degrades the others', async () => {
    let customer: TestCustomer | undefined;
    const instances = await fakeService((req) =>
      customer && req.url === `/internal/customers/${customer.id}/instances/count`
        ? { status: 200, body: { instance_count: 3, by_status: { running: 2, stopped: 1 } } }
        : { status: 404, body: { message: 'no such customer' } },
    );
    const billing = await fakeService(() => ({
      status: 200,
      body: { plan_name: 'not the contract', status: 'ACTIVE' },
    }));
    const tenants = await fakeService(() => 'hang');
    const users = await startUserService(smtp, {
      INSTANCE_SERVICE_URL: instances.url,
      BILLING_SERVICE_URL: billing.url,
      TENANT_SERVICE_URL: tenants.url,
      INTERNAL_HTTP_TIMEOUT_MS: '300',
    });
    try {
      customer = await createVerifiedCustomer(users, smtp);
      const started = performance.now();
      const res = await users.request({
        method: 'GET',
        url: '/auth/me',
        headers: { ...bearer(customer.access_token), 'x-request-id': 'me-request-0001' },
      });
      const elapsed = performance.now() - started;
      expect(res.statusCode).toBe(200);
      expect(res.json()).toMatchObject({
        instance_count: 3,
        instances_by_status: { running: 2, stopped: 1 },
        tenant_count: null,
        subscription_summary: null,
        warnings: ['tenant-service unavailable', 'billing-service unavailable'],
      });
      // The hanging tenant-service costs one short timeout, not the request.
      expect(elapsed).toBeLessThan(1500);
      expect(instances.seen).toEqual([
        {
          url: `/internal/customers/${customer.id}/instances/count`,
          token: process.env.INTERNAL_API_TOKEN,
          requestId: 'me-request-0001',
        },
      ]);
      expect(tenants.seen[0]?.url).toBe(`/internal/customers/${customer.id}/summary`);
      expect(billing.seen[0]?.url).toBe(`/internal/customers/${customer.id}/subscription-summary`);
    } finally {
      await users.close();
      await Promise.all([instances.close(), billing.close(), tenants.close()]);
    }
  });

  it('passes through tenants and the subscription summary (contract shapes of @app/contracts) when those services answer', async () => {
    const tenant = {
      id: 't-1',
      name: 'Acme',
      subdomain: 'acme',
      role: 'owner',
      plan: 'basic',
      status: 'active',
    };
    const summary = {
      subscriptions: [
        {
          subscription_id: 's-1',
          instance_id: 'i-1',
          plan_name: 'standard-monthly',
          phase: 'TRIAL',
          state: 'ACTIVE',
          trial_ends_at: '2030-01-15T00:00:00Z',
          entitled: true,
        },
      ],
      overdue_state: null,
      balance: 0,
    };
    const tenants = await fakeService(() => ({ status: 200, body: { tenant_count: 1, tenants: [tenant] } }));
    const billing = await fakeService(() => ({ status: 200, body: summary }));
    const users = await startUserService(smtp, {
      TENANT_SERVICE_URL: tenants.url,
      BILLING_SERVICE_URL: billing.url,
    });
    try {
      const customer = await createVerifiedCustomer(users, smtp);
      const res = await users.request({
        method: 'GET',
        url: '/auth/me',
        headers: bearer(customer.access_token),
      });
      expect(res.json()).toMatchObject({
        tenant_count: 1,
        tenants: [tenant],
        subscription_summary: summary,
        instance_count: null,
        warnings: ['instance-service unavailable'],
      });
    } finally {
      await users.close();
      await Promise.all([tenants.close(), billing.close()]);
    }
  });
});
