import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  freePort,
  HostPlatform,
  linkInMail,
  MailInbox,
  SseReader,
  strongPassword,
  uniqueEmail,
  waitFor,
} from '@app/testing';
import { NOT_BUILT_PAGE, startPortalServer } from '../../scripts/portal-server';

/*
 * Host mode serves the portal as compose's Traefik does at app.<BASE_DOMAIN>: the built files with SPA
 * fallback, and /user /tenant /instance /billing proxied with the prefix stripped (same origin: the refresh
 * cookie's Path=/user/auth works, Server-Sent Events stream through). A stand-in build of the portal
 * (PORTAL_DIST) keeps this independent of the React app's own build.
 */
const OFFSET = 18000; // every port below 32768, out of the range the OS hands out to client sockets
const dist = mkdtempSync(join(tmpdir(), 'portal-dist-'));
const INDEX = '<!doctype html><title>SaaSOdoo portal (test build)</title><div id="root"></div>';
mkdirSync(join(dist, 'assets'));
writeFileSync(join(dist, 'index.html'), INDEX);
writeFileSync(join(dist, 'assets', 'app-1234.js'), 'console.log("portal");');

const platform = new HostPlatform({
  portOffset: OFFSET,
  env: {
    PORTAL_DIST: dist,
    ADMIN_EMAIL: `portal-admin-${randomBytes(4).toString('hex')}@saasodoo.localhost`,
  },
});

function setCookies(res: Response): Map<string, string> {
  const cookies = new Map<string, string>();
  for (const line of res.headers.getSetCookie()) {
    const [pair = ''] = line.split(';');
    cookies.set(pair.slice(0, pair.indexOf('=')), line);
  }
  return cookies;
}

const valueOf = (line: string | undefined) => (line ?? '').split(';')[0]!.split('=').slice(1).join('=');

describe('host mode: the portal server (npm run start:local)', () => {
  let portal: string;

  beforeAll(async () => {
    await platform.start();
    portal = platform.printed('Portal');
  }, 200_000);
  afterAll(async () => {
    await platform.dispose();
    rmSync(dist, { recursive: true, force: true });
  }, 60_000);

  it('prints the portal URL on PORTAL_PORT shifted by the offset', () => {
    expect(portal).toBe(`http://127.0.0.1:${3000 + OFFSET}`);
  });

  it('proxies the four prefixes with the prefix stripped, and not /internal or /metrics', async () => {
    for (const [prefix, service] of [
      ['user', 'user-service'],
      ['tenant', 'tenant-service'],
      ['instance', 'instance-service'],
      ['billing', 'billing-service'],
    ]) {
      const res = await fetch(`${portal}/${prefix}/health`);
      expect([prefix, res.status]).toEqual([prefix, 200]);
      expect(await res.json()).toMatchObject({ service });
      for (const hidden of ['internal/users/x', 'metrics']) {
        const refused = await fetch(`${portal}/${prefix}/${hidden}`);
        expect([prefix, hidden, refused.status]).toEqual([prefix, hidden, 404]);
      }
    }
    const envelope = await fetch(`${portal}/user/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{}',
    });
    expect(envelope.status).toBe(400);
    expect(await envelope.json()).toMatchObject({ code: 'VALIDATION_FAILED' });
  });

  it('serves the built files, and index.html for any page path (SPA fallback), but not for a missing file', async () => {
    const root = await fetch(`${portal}/`);
    expect(root.status).toBe(200);
    expect(await root.text()).toBe(INDEX);
    const deep = await fetch(`${portal}/instances/7d3c/logs?follow=1`);
    expect(deep.status).toBe(200);
    expect(deep.headers.get('content-type')).toMatch(/^text\/html/);
    expect(await deep.text()).toBe(INDEX);
    const asset = await fetch(`${portal}/assets/app-1234.js`);
    expect(asset.status).toBe(200);
    expect(asset.headers.get('cache-control')).toContain('immutable');
    expect(await asset.text()).toContain('portal');
    expect((await fetch(`${portal}/assets/missing-99.js`)).status).toBe(404);
  });

  it('the verification email opens the portal, and a cookie session works through the proxy (Path=/user/auth)', async () => {
    const email = uniqueEmail('portal');
    const password = strongPassword();
    const registered = await fetch(`${portal}/user/auth/register`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email, password, first_name: 'Por', last_name: 'Tal', accept_terms: true }),
    });
    expect(registered.status).toBe(201);
    const mail = await new MailInbox(platform.printed('Mail inbox')).waitFor(email, /confirm your email/i);
    const link = linkInMail(mail, '/verify-email');
    expect(link.url).toBe(`${portal}/verify-email?token=${link.token}`);
    expect(await (await fetch(link.url)).text()).toBe(INDEX);
    const verified = await fetch(`${portal}/user/auth/verify-email`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ token: link.token }),
    });
    expect(verified.status).toBe(200);

    const login = await fetch(`${portal}/user/auth/login?session=cookie`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email, password }),
    });
    expect(login.status).toBe(200);
    expect((await login.json()).tokens).not.toHaveProperty('refresh_token');
    const cookies = setCookies(login);
    expect(cookies.get('saasodoo_refresh')).toMatch(/Path=\/user\/auth; HttpOnly; Secure; SameSite=Strict/);
    const refresh = valueOf(cookies.get('saasodoo_refresh'));
    const csrf = valueOf(cookies.get('saasodoo_csrf'));

    // What the browser sends to /user/auth/refresh: both cookies (the path matches), and the CSRF header.
    const refreshed = await fetch(`${portal}/user/auth/refresh?session=cookie`, {
      method: 'POST',
      headers: { cookie: `saasodoo_refresh=${refresh}; saasodoo_csrf=${csrf}`, 'x-csrf-token': csrf },
    });
    expect(refreshed.status).toBe(200);
    expect(valueOf(setCookies(refreshed).get('saasodoo_refresh'))).not.toBe(refresh);
    const forged = await fetch(`${portal}/user/auth/refresh?session=cookie`, {
      method: 'POST',
      headers: { cookie: `saasodoo_refresh=${refresh}; saasodoo_csrf=${csrf}` },
    });
    expect(forged.status).toBe(403);
  }, 60_000);

  it('streams Server-Sent Events through the proxy, unbuffered', async () => {
    const admin = /Admin\s+(\S+)\s+password: (\S+)/.exec(platform.output());
    expect(admin).not.toBeNull();
    const login = await fetch(`${portal}/user/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email: admin![1], password: admin![2] }),
    });
    expect(login.status).toBe(200);
    const token = ((await login.json()) as { tokens: { access_token: string } }).tokens.access_token;
    const auth = { authorization: `Bearer ${token}` };
    const tenant = await fetch(`${portal}/tenant/api/v1/tenants`, {
      method: 'POST',
      headers: { ...auth, 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'Portal SSE', subdomain: `sse-${randomBytes(4).toString('hex')}` }),
    });
    expect(tenant.status).toBe(201);
    const tenantId = ((await tenant.json()) as { id: string }).id;

    const stream = await SseReader.open(`${portal}/instance/api/v1/events/stream`, auth);
    try {
      expect(stream.status).toBe(200);
      expect(stream.headers.get('content-type')).toMatch(/^text\/event-stream/);
      expect(stream.headers.get('x-accel-buffering')).toBe('no');
      const suspendedAt = Date.now();
      const suspended = await fetch(`${portal}/tenant/admin/tenants/${tenantId}/suspend`, {
        method: 'POST',
        headers: { ...auth, 'content-type': 'application/json' },
        body: JSON.stringify({ reason: 'portal e2e' }),
      });
      expect(suspended.status).toBe(201);
      const event = await waitFor(
        'tenant.suspended through the portal proxy',
        async () => stream.find('tenant.suspended', (d) => d.tenant_id === tenantId)[0],
        5000,
        25,
      );
      expect(event.receivedAt - suspendedAt).toBeLessThan(2000);
      expect(JSON.parse(event.data)).toEqual({ tenant_id: tenantId, reason: 'portal e2e' });
    } finally {
      await stream.close();
    }
  }, 60_000);
});

describe('the portal server without a build', () => {
  it('answers pages with a one-line page saying how to build it, and still proxies', async () => {
    const port = await freePort();
    const empty = mkdtempSync(join(tmpdir(), 'portal-empty-'));
    const server = await startPortalServer({
      HOST: '127.0.0.1',
      PORTAL_PORT: String(port),
      PORTAL_DIST: empty,
      USER_SERVICE_URL: 'http://127.0.0.1:1',
    });
    try {
      const page = await fetch(`http://127.0.0.1:${port}/dashboard`);
      expect(page.status).toBe(503);
      expect(await page.text()).toBe(NOT_BUILT_PAGE);
      expect(NOT_BUILT_PAGE).toContain('npm run build');
      const health = await fetch(`http://127.0.0.1:${port}/healthz`);
      expect(await health.json()).toEqual({ status: 'ok', portal_built: false });
      expect((await fetch(`http://127.0.0.1:${port}/user/health`)).status).toBeGreaterThanOrEqual(500);
    } finally {
      await server.close();
      rmSync(empty, { recursive: true, force: true });
    }
  });
});
