import { decodeProtectedHeader } from 'jose';
import { randomIp, ServiceHarness, SmtpSink, strongPassword, uniqueEmail } from '@app/testing';
import { GoTrueStub } from './gotrue-stub';
import { bearer, db, settle, startOtherService, startUserService } from './support';

describe('user-service with the Supabase Auth provider', () => {
  const smtp = new SmtpSink();
  const gotrue = new GoTrueStub('anon-test-key');
  let users: ServiceHarness;
  let other: ServiceHarness;

  beforeAll(async () => {
    await smtp.start();
    await gotrue.start();
    users = await startUserService(smtp, { SUPABASE_URL: gotrue.url, SUPABASE_ANON_KEY: gotrue.anonKey });
    other = await startOtherService();
  });
  afterAll(async () => {
    await other?.close();
    await users?.close();
    await gotrue.stop();
    await smtp.stop();
  });

  const login = (email: string, password: string) =>
    users.request({
      method: 'POST',
      url: '/auth/login',
      remoteAddress: randomIp(),
      payload: { email, password },
    });

  async function registerConfirmed(email = uniqueEmail('supa'), password = strongPassword()) {
    const registered = await users.request({
      method: 'POST',
      url: '/auth/register',
      remoteAddress: randomIp(),
      payload: { email, password, first_name: 'Supa', last_name: 'Base', accept_terms: true },
    });
    expect(registered.statusCode).toBe(201);
    const verified = await users.request({
      method: 'POST',
      url: '/auth/verify-email',
      payload: { token: gotrue.lastTokenHash(email, 'signup') },
    });
    expect(verified.statusCode).toBe(200);
    return { id: registered.json().customer.id as string, email, password };
  }

  it('signs up through Supabase and links the local user by the Supabase user id', async () => {
    const email = uniqueEmail('supa');
    const password = strongPassword();
    const before = smtp.count;
    const res = await users.request({
      method: 'POST',
      url: '/auth/register',
      remoteAddress: randomIp(),
      payload: { email, password, first_name: 'Supa', last_name: 'Base', accept_terms: true },
    });
    expect(res.statusCode).toBe(201);
    expect(res.json()).toMatchObject({ requires_verification: true });
    const signup = gotrue.calls.find((c) => c.path === '/signup' && c.body.email === email);
    expect(signup?.body).toMatchObject({ password, data: { first_name: 'Supa', last_name: 'Base' } });
    expect(signup?.query.redirect_to).toBe('http://app.saasodoo.test/verify-email');

    const [row] = await db(users).query(
      `SELECT id, supabase_user_id, password_hash FROM users WHERE email = $1`,
      [email],
    );
    expect(row.supabase_user_id).toBe(gotrue.user(email)?.id);
    expect(row.supabase_user_id).not.toBe(row.id);
    expect(row.password_hash).toBeNull();
    await settle(users);
    // Supabase sends the confirmation; we send only the welcome.
    expect(smtp.messages({ after: before, to: email }).map((m) => m.subject)).toEqual([
      expect.stringMatching(/welcome/i),
    ]);

    const early = await login(email, password);
    expect(early.statusCode).toBe(403);
    expect(early.json()).toMatchObject({ code: 'EMAIL_NOT_VERIFIED' });

    const duplicate = await users.request({
      method: 'POST',
      url: '/auth/register',
      remoteAddress: randomIp(),
      payload: { email, password, first_name: 'Supa', last_name: 'Base', accept_terms: true },
    });
    expect(duplicate.statusCode).toBe(409);
  });

  it('confirms the email with the token of Supabase’s link, then signs in and issues our own token', async () => {
    const customer = await registerConfirmed();
    const [row] = await db(users).query(`SELECT is_verified FROM users WHERE id = $1`, [customer.id]);
    expect(row.is_verified).toBe(true);

    expect((await login(customer.email, 'Wrong-Passw0rd!')).json()).toMatchObject({
      code: 'INVALID_CREDENTIALS',
    });
    const ok = await login(customer.email, customer.password);
    expect(ok.statusCode).toBe(200);
    const { tokens, customer: view } = ok.json();
    expect(view).toMatchObject({ id: customer.id, email: customer.email, is_verified: true });
    expect(decodeProtectedHeader(tokens.access_token)).toMatchObject({ alg: 'ES256' });
    const seen = await other.request({
      method: 'GET',
      url: '/protected',
      headers: bearer(tokens.access_token),
    });
    expect(seen.json()).toMatchObject({ id: customer.id });
    const [session] = await db(users).query(
      `SELECT provider, provider_refresh_token FROM sessions WHERE user_id = $1`,
      [customer.id],
    );
    expect(session.provider).toBe('supabase');
    expect(session.provider_refresh_token).toEqual(expect.any(String));
  });

  it('refreshes through Supabase too, and ends our session when Supabase ends its own', async () => {
    const customer = await registerConfirmed();
    const { tokens } = (await login(customer.email, customer.password)).json();
    const refreshCalls = () =>
      gotrue.calls.filter((c) => c.path === '/token' && c.query.grant_type === 'refresh_token').length;
    const before = refreshCalls();
    const refreshed = await users.request({
      method: 'POST',
      url: '/auth/refresh',
      payload: { refresh_token: tokens.refresh_token },
    });
    expect(refreshed.statusCode).toBe(200);
    expect(refreshCalls()).toBe(before + 1);

    gotrue.revokeSessions(customer.email);
    const refused = await users.request({
      method: 'POST',
      url: '/auth/refresh',
      payload: { refresh_token: refreshed.json().tokens.refresh_token },
    });
    expect(refused.statusCode).toBe(401);
    expect(refused.json()).toMatchObject({ code: 'SESSION_ENDED' });
    expect(
      (
        await other.request({
          method: 'GET',
          url: '/protected',
          headers: bearer(refreshed.json().tokens.access_token),
        })
      ).statusCode,
    ).toBe(401);
  });

  it('resets the password through Supabase’s recovery link and ends every local session', async () => {
    const customer = await registerConfirmed();
    const { tokens } = (await login(customer.email, customer.password)).json();
    const ack = await users.request({
      method: 'POST',
      url: '/auth/password-reset',
      remoteAddress: randomIp(),
      payload: { email: customer.email },
    });
    expect(ack.statusCode).toBe(200);
    await settle(users);
    const recover = gotrue.calls.find((c) => c.path === '/recover' && c.body.email === customer.email);
    expect(recover?.query.redirect_to).toBe('http://app.saasodoo.test/reset-password');

    const newPassword = strongPassword();
    const done = await users.request({
      method: 'POST',
      url: '/auth/password-reset-complete',
      payload: { token: gotrue.lastTokenHash(customer.email, 'recovery'), new_password: newPassword },
    });
    expect(done.statusCode).toBe(200);
    expect(gotrue.user(customer.email)?.password).toBe(newPassword);
    expect(
      (await other.request({ method: 'GET', url: '/protected', headers: bearer(tokens.access_token) }))
        .statusCode,
    ).toBe(401);
    expect((await login(customer.email, customer.password)).statusCode).toBe(401);
    expect((await login(customer.email, newPassword)).statusCode).toBe(200);

    const bogus = await users.request({
      method: 'POST',
      url: '/auth/password-reset-complete',
      payload: { token: 'f'.repeat(56), new_password: strongPassword() },
    });
    expect(bogus.json()).toMatchObject({ code: 'INVALID_OR_EXPIRED_TOKEN' });
  });

  it('changes the password at Supabase after proving the current one', async () => {
    const customer = await registerConfirmed();
    const { tokens } = (await login(customer.email, customer.password)).json();
    const wrong = await users.request({
      method: 'POST',
      url: '/auth/password-change',
      headers: bearer(tokens.access_token),
      payload: { current_password: 'Wrong-Passw0rd!', new_password: strongPassword() },
    });
    expect(wrong.json()).toMatchObject({ code: 'CURRENT_PASSWORD_INCORRECT' });
    const newPassword = strongPassword();
    const changed = await users.request({
      method: 'POST',
      url: '/auth/password-change',
      headers: bearer(tokens.access_token),
      payload: { current_password: customer.password, new_password: newPassword },
    });
    expect(changed.statusCode).toBe(200);
    expect(gotrue.user(customer.email)?.password).toBe(newPassword);
  });

  it('answers 503 in the envelope when Supabase is unreachable, and never 500', async () => {
    const customer = await registerConfirmed();
    await gotrue.stop();
    // supabase-js prints network failures itself.
    const printed = jest.spyOn(console, 'error').mockImplementation(() => undefined);
    try {
      const res = await login(customer.email, customer.password);
      expect(res.statusCode).toBe(503);
      expect(res.json()).toMatchObject({
        code: 'DEPENDENCY_UNAVAILABLE',
        details: [{ dependency: 'supabase' }],
      });
    } finally {
      printed.mockRestore();
      await gotrue.start();
    }
    expect((await login(customer.email, customer.password)).statusCode).toBe(200);
  });
});
