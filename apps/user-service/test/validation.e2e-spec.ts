import {
  createVerifiedCustomer,
  ServiceHarness,
  SmtpSink,
  strongPassword,
  TestCustomer,
  uniqueEmail,
} from '@app/testing';
import { bearer, db, settle, startUserService } from './support';

type Endpoint = { method: 'POST' | 'PUT'; url: string; auth: boolean; valid: () => Record<string, unknown> };

describe('user-service: every endpoint refuses malformed, oversize and unknown-field bodies', () => {
  const smtp = new SmtpSink();
  let users: ServiceHarness;
  let customer: TestCustomer;

  const endpoints: Endpoint[] = [
    {
      method: 'POST',
      url: '/auth/register',
      auth: false,
      valid: () => ({
        email: uniqueEmail(),
        password: strongPassword(),
        first_name: 'A',
        last_name: 'B',
        accept_terms: true,
      }),
    },
    {
      method: 'POST',
      url: '/auth/login',
      auth: false,
      valid: () => ({ email: customer.email, password: customer.password }),
    },
    {
      method: 'POST',
      url: '/auth/refresh',
      auth: false,
      valid: () => ({ refresh_token: customer.refresh_token }),
    },
    { method: 'POST', url: '/auth/verify-email', auth: false, valid: () => ({ token: 'A'.repeat(43) }) },
    {
      method: 'POST',
      url: '/auth/resend-verification',
      auth: false,
      valid: () => ({ email: customer.email }),
    },
    { method: 'POST', url: '/auth/password-reset', auth: false, valid: () => ({ email: customer.email }) },
    {
      method: 'POST',
      url: '/auth/password-reset-complete',
      auth: false,
      valid: () => ({ token: 'A'.repeat(43), new_password: strongPassword() }),
    },
    {
      method: 'POST',
      url: '/auth/password-change',
      auth: true,
      valid: () => ({ current_password: customer.password, new_password: strongPassword() }),
    },
    { method: 'PUT', url: '/users/profile', auth: true, valid: () => ({ company: 'Changed Ltd' }) },
  ];

  /**
   * What these requests could have written: the test customer's row, sessions, refresh and email tokens, any
   * account under the emails sent, and mail. (Other suites may write to the same test database meanwhile.)
   */
  async function snapshot(emails: string[]) {
    await settle(users);
    const [state] = await db(users).query(
      `SELECT (SELECT updated_at FROM users WHERE id = $1) AS customer_updated_at,
              (SELECT password_hash FROM users WHERE id = $1) AS customer_password_hash,
              (SELECT count(*) FROM sessions WHERE user_id = $1)::int AS sessions,
              (SELECT count(*) FROM refresh_tokens t JOIN sessions s ON s.id = t.session_id WHERE s.user_id = $1)::int AS refresh_tokens,
              (SELECT count(*) FROM refresh_tokens t JOIN sessions s ON s.id = t.session_id
                 WHERE s.user_id = $1 AND t.rotated_at IS NOT NULL)::int AS rotated,
              (SELECT count(*) FROM email_tokens WHERE user_id = $1)::int AS email_tokens,
              (SELECT count(*) FROM users WHERE email = ANY($2))::int AS accounts_with_sent_emails`,
      [customer.id, emails],
    );
    return { ...state, mails: smtp.count };
  }

  function send(endpoint: Endpoint, payload: string, contentType = 'application/json') {
    return users.request({
      method: endpoint.method,
      url: endpoint.url,
      headers: { 'content-type': contentType, ...(endpoint.auth ? bearer(customer.access_token) : {}) },
      payload,
    });
  }

  function expectEnvelope(res: { statusCode: number; json: () => unknown }, status: number) {
    expect(res.statusCode).toBe(status);
    expect(res.json()).toEqual({
      statusCode: status,
      error: expect.any(String),
      code: expect.any(String),
      message: expect.any(String),
      details: expect.any(Array),
      request_id: expect.any(String),
    });
  }

  beforeAll(async () => {
    await smtp.start();
    users = await startUserService(smtp);
    customer = await createVerifiedCustomer(users, smtp);
  });
  afterAll(async () => {
    await users?.close();
    await smtp.stop();
  });

  it.each(endpoints.map((e) => [`${e.method} ${e.url}`, e] as const))('%s', async (_name, endpoint) => {
    const valid = endpoint.valid();
    const emails = typeof valid.email === 'string' && valid.email !== customer.email ? [valid.email] : [];
    const before = await snapshot(emails);

    const malformed = await send(endpoint, '{"email": "a@b.c", ');
    expectEnvelope(malformed, 400);

    const unknown = await send(endpoint, JSON.stringify({ ...valid, is_admin: true }));
    expectEnvelope(unknown, 400);
    expect(unknown.json()).toMatchObject({
      code: 'VALIDATION_FAILED',
      message: expect.stringContaining('is_admin'),
    });

    const oversize = await send(
      endpoint,
      JSON.stringify({ ...valid, padding: 'x'.repeat(1024 * 1024 + 10) }),
    );
    expectEnvelope(oversize, 413);

    const longField = Object.fromEntries(
      Object.entries(valid).map(([k, v]) => [k, typeof v === 'string' ? `${'x'.repeat(300)}${v}` : v]),
    );
    expectEnvelope(await send(endpoint, JSON.stringify(longField)), 400);

    const wrongTypes = Object.fromEntries(Object.keys(valid).map((k) => [k, { nested: ['object'] }]));
    expectEnvelope(await send(endpoint, JSON.stringify(wrongTypes)), 400);

    expectEnvelope(await send(endpoint, JSON.stringify([valid])), 400);
    expectEnvelope(await send(endpoint, '<email>a@b.c</email>', 'application/xml'), 415);
    expectEnvelope(
      await send(endpoint, 'email=a%40b.c&is_admin=1', 'application/x-www-form-urlencoded'),
      400,
    );

    expect(await snapshot(emails)).toEqual(before);
  });

  it('refuses bad query strings on DELETE /users/account without deactivating anything', async () => {
    for (const query of ['', '?confirmation=delete', '?confirmation=DELETE&force=1']) {
      const res = await users.request({
        method: 'DELETE',
        url: `/users/account${query}`,
        headers: bearer(customer.access_token),
      });
      expectEnvelope(res, 400);
    }
    const [row] = await db(users).query(`SELECT is_active FROM users WHERE id = $1`, [customer.id]);
    expect(row.is_active).toBe(true);
  });

  it('applies the password policy of the original (8–128, upper, lower, digit, special) at registration', async () => {
    for (const password of [
      'Sh0rt!',
      'alllower1!',
      'ALLUPPER1!',
      'NoDigits!!',
      'NoSpecial12',
      `Aa1!${'x'.repeat(125)}`,
    ]) {
      const res = await users.request({
        method: 'POST',
        url: '/auth/register',
        payload: { email: uniqueEmail(), password, first_name: 'A', last_name: 'B', accept_terms: true },
      });
      expect(res.statusCode).toBe(400);
      expect(res.json().details).toEqual([expect.objectContaining({ field: 'password' })]);
    }
    const terms = await users.request({
      method: 'POST',
      url: '/auth/register',
      payload: {
        email: uniqueEmail(),
        password: strongPassword(),
        first_name: 'A',
        last_name: 'B',
        accept_terms: false,
      },
    });
    expect(terms.statusCode).toBe(400);
    expect(terms.json().message).toContain('accept_terms must be true');
  });
});
