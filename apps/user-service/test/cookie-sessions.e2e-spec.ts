import type { LightMyRequestResponse } from 'fastify';
import { createVerifiedCustomer, randomIp, ServiceHarness, SmtpSink, strongPassword } from '@app/testing';
import { bearer, db, startOtherService, startUserService } from './support';

interface SetCookie {
  name: string;
  value: string;
  attributes: string[];
}

function setCookies(res: LightMyRequestResponse): Map<string, SetCookie> {
  const header = res.headers['set-cookie'];
  const lines = Array.isArray(header) ? header : header ? [header] : [];
  const cookies = new Map<string, SetCookie>();
  for (const line of lines) {
    const [pair = '', ...attributes] = line.split(';').map((part) => part.trim());
    const eq = pair.indexOf('=');
    const cookie = { name: pair.slice(0, eq), value: decodeURIComponent(pair.slice(eq + 1)), attributes };
    cookies.set(cookie.name, cookie);
  }
  return cookies;
}

function cookieHeader(refresh: string, csrf: string): string {
  return `saasodoo_refresh=${refresh}; saasodoo_csrf=${csrf}`;
}

describe('user-service: cookie sessions (?session=cookie), CSRF and log out everywhere', () => {
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

  async function cookieLogin(email: string, password: string) {
    const res = await users.request({
      method: 'POST',
      url: '/auth/login?session=cookie',
      remoteAddress: randomIp(),
      payload: { email, password },
    });
    expect(res.statusCode).toBe(200);
    const cookies = setCookies(res);
    return {
      res,
      body: res.json(),
      refresh: cookies.get('saasodoo_refresh')!,
      csrf: cookies.get('saasodoo_csrf')!,
    };
  }

  it('login sets an HttpOnly refresh cookie scoped to /user/auth and a CSRF cookie, and no refresh token in the body', async () => {
    const customer = await createVerifiedCustomer(users, smtp);
    const { body, refresh, csrf } = await cookieLogin(customer.email, customer.password);

    expect(body.tokens.access_token).toEqual(expect.any(String));
    expect(body.tokens).not.toHaveProperty('refresh_token');
    expect(refresh.value).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(refresh.attributes).toEqual(
      expect.arrayContaining(['Path=/user/auth', 'HttpOnly', 'Secure', 'SameSite=Strict']),
    );
    const maxAge = Number(refresh.attributes.find((a) => a.startsWith('Max-Age='))!.slice(8));
    expect(maxAge).toBeGreaterThan(7 * 86400 - 60);
    expect(maxAge).toBeLessThanOrEqual(7 * 86400);
    expect(csrf.value).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(csrf.attributes).toEqual(expect.arrayContaining(['Path=/', 'Secure', 'SameSite=Strict']));
    expect(csrf.attributes).not.toContain('HttpOnly');

    // The access token works in another service.
    const probe = await other.request({
      method: 'GET',
      url: '/protected',
      headers: bearer(body.tokens.access_token),
    });
    expect(probe.statusCode).toBe(200);
  });

  it('refresh reads the cookie only with the matching X-CSRF-Token, rotates both cookies, and a refused one changes nothing', async () => {
    const customer = await createVerifiedCustomer(users, smtp);
    const { refresh, csrf } = await cookieLogin(customer.email, customer.password);
    const hashOf = async () =>
      (
        (await db(users).query(
          `SELECT count(*)::int AS n FROM refresh_tokens t JOIN sessions s ON s.id = t.session_id
            WHERE s.user_id = $1 AND t.rotated_at IS NULL`,
          [customer.id],
        )) as { n: number }[]
      )[0]!.n;
    const liveTokensBefore = await hashOf();

    for (const headers of [
      { cookie: cookieHeader(refresh.value, csrf.value) },
      { cookie: cookieHeader(refresh.value, csrf.value), 'x-csrf-token': 'not-the-cookie' },
      { cookie: `saasodoo_refresh=${refresh.value}`, 'x-csrf-token': csrf.value },
    ]) {
      const refused = await users.request({
        method: 'POST',
        url: '/auth/refresh?session=cookie',
        headers,
        payload: {},
      });
      expect(refused.statusCode).toBe(403);
      expect(refused.json()).toMatchObject({
        statusCode: 403,
        code: 'CSRF_INVALID',
        request_id: expect.any(String),
      });
      expect(refused.headers['set-cookie']).toBeUndefined();
    }
    expect(await hashOf()).toBe(liveTokensBefore);

    // A refresh token in the body is not accepted in cookie mode.
    const both = await users.request({
      method: 'POST',
      url: '/auth/refresh?session=cookie',
      headers: { cookie: cookieHeader(refresh.value, csrf.value), 'x-csrf-token': csrf.value },
      payload: { refresh_token: refresh.value },
    });
    expect(both.statusCode).toBe(400);
    expect(both.json()).toMatchObject({ code: 'VALIDATION_FAILED' });
    const badMode = await users.request({ method: 'POST', url: '/auth/refresh?session=jar', payload: {} });
    expect(badMode.statusCode).toBe(400);
    expect(badMode.json()).toMatchObject({ code: 'VALIDATION_FAILED' });

    const ok = await users.request({
      method: 'POST',
      url: '/auth/refresh?session=cookie',
      headers: { cookie: cookieHeader(refresh.value, csrf.value), 'x-csrf-token': csrf.value },
    });
    expect(ok.statusCode).toBe(200);
    expect(ok.json().tokens).not.toHaveProperty('refresh_token');
    const rotated = setCookies(ok);
    const nextRefresh = rotated.get('saasodoo_refresh')!;
    const nextCsrf = rotated.get('saasodoo_csrf')!;
    expect(nextRefresh.value).not.toBe(refresh.value);
    expect(nextCsrf.value).not.toBe(csrf.value);
    expect(nextRefresh.attributes).toEqual(expect.arrayContaining(['Path=/user/auth', 'HttpOnly']));

    // The old CSRF token does not go with the new cookie.
    const stale = await users.request({
      method: 'POST',
      url: '/auth/refresh?session=cookie',
      headers: { cookie: cookieHeader(nextRefresh.value, nextCsrf.value), 'x-csrf-token': csrf.value },
    });
    expect(stale.statusCode).toBe(403);

    // Without a refresh cookie (but with a valid CSRF pair) it is a plain 401.
    const none = await users.request({
      method: 'POST',
      url: '/auth/refresh?session=cookie',
      headers: { cookie: `saasodoo_csrf=${nextCsrf.value}`, 'x-csrf-token': nextCsrf.value },
    });
    expect(none.statusCode).toBe(401);
    expect(none.json()).toMatchObject({ code: 'INVALID_REFRESH_TOKEN' });

    // The body variant is unchanged.
    const plain = await users.request({ method: 'POST', url: '/auth/refresh', payload: {} });
    expect(plain.statusCode).toBe(400);
    expect(plain.json()).toMatchObject({ code: 'VALIDATION_FAILED' });
  });

  it('logout with the cookie needs the CSRF token, ends the session and clears both cookies', async () => {
    const customer = await createVerifiedCustomer(users, smtp);
    const { body, refresh, csrf } = await cookieLogin(customer.email, customer.password);
    const access = body.tokens.access_token as string;

    const refused = await users.request({
      method: 'POST',
      url: '/auth/logout?session=cookie',
      headers: { ...bearer(access), cookie: cookieHeader(refresh.value, csrf.value) },
    });
    expect(refused.statusCode).toBe(403);
    expect(refused.json()).toMatchObject({ code: 'CSRF_INVALID' });
    expect(
      (await other.request({ method: 'GET', url: '/protected', headers: bearer(access) })).statusCode,
    ).toBe(200);

    const out = await users.request({
      method: 'POST',
      url: '/auth/logout?session=cookie',
      headers: {
        ...bearer(access),
        cookie: cookieHeader(refresh.value, csrf.value),
        'x-csrf-token': csrf.value,
      },
    });
    expect(out.statusCode).toBe(200);
    const cleared = setCookies(out);
    for (const name of ['saasodoo_refresh', 'saasodoo_csrf']) {
      expect(cleared.get(name)!.value).toBe('');
      expect(cleared.get(name)!.attributes).toContain('Max-Age=0');
    }
    expect(cleared.get('saasodoo_refresh')!.attributes).toContain('Path=/user/auth');
    expect(
      (await other.request({ method: 'GET', url: '/protected', headers: bearer(access) })).statusCode,
    ).toBe(401);
    const afterwards = await users.request({
      method: 'POST',
      url: '/auth/refresh?session=cookie',
      headers: { cookie: cookieHeader(refresh.value, csrf.value), 'x-csrf-token': csrf.value },
    });
    expect(afterwards.statusCode).toBe(401);
  });

  it('logout-all ends every session of the caller (and no one else’s)', async () => {
    const password = strongPassword();
    const customer = await createVerifiedCustomer(users, smtp, { password });
    const bystander = await createVerifiedCustomer(users, smtp);
    const second = await cookieLogin(customer.email, password);
    const third = await cookieLogin(customer.email, password);

    const res = await users.request({
      method: 'POST',
      url: '/auth/logout-all?session=cookie',
      headers: bearer(third.body.tokens.access_token),
    });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ success: true, sessions_ended: 3 });
    expect(setCookies(res).get('saasodoo_refresh')!.attributes).toContain('Max-Age=0');

    for (const token of [
      customer.access_token,
      second.body.tokens.access_token,
      third.body.tokens.access_token,
    ]) {
      expect(
        (await other.request({ method: 'GET', url: '/protected', headers: bearer(token) })).statusCode,
      ).toBe(401);
    }
    const refreshed = await users.request({
      method: 'POST',
      url: '/auth/refresh',
      payload: { refresh_token: customer.refresh_token },
    });
    expect(refreshed.statusCode).toBe(401);
    expect(
      (await other.request({ method: 'GET', url: '/protected', headers: bearer(bystander.access_token) }))
        .statusCode,
    ).toBe(200);
    const reasons = (await db(users).query(
      `SELECT DISTINCT revoked_reason FROM sessions WHERE user_id = $1`,
      [customer.id],
    )) as { revoked_reason: string }[];
    expect(reasons).toEqual([{ revoked_reason: 'logout_all' }]);
  });
});
