import {
  createVerifiedCustomer,
  randomIp,
  ServiceHarness,
  SmtpSink,
  strongPassword,
  uniqueEmail,
} from '@app/testing';
import { startUserService } from './support';

describe('user-service: rate limits and lockout (Redis)', () => {
  const smtp = new SmtpSink();
  let users: ServiceHarness;

  beforeAll(async () => {
    await smtp.start();
    users = await startUserService(smtp, {
      RATE_LIMIT_WINDOW_SECONDS: '30',
      RATE_LIMIT_LOGIN_PER_IP: '4',
      RATE_LIMIT_LOGIN_PER_EMAIL: '8',
      RATE_LIMIT_REGISTER_PER_IP: '2',
      RATE_LIMIT_REGISTER_PER_EMAIL: '2',
      RATE_LIMIT_EMAIL_PER_IP: '3',
      RATE_LIMIT_EMAIL_PER_EMAIL: '2',
      LOGIN_LOCKOUT_THRESHOLD: '3',
      LOGIN_LOCKOUT_WINDOW_SECONDS: '60',
      LOGIN_LOCKOUT_SECONDS: '2',
    });
  });
  afterAll(async () => {
    await users?.close();
    await smtp.stop();
  });

  const login = (email: string, password: string, ip: string) =>
    users.request({ method: 'POST', url: '/auth/login', remoteAddress: ip, payload: { email, password } });

  it('limits logins per IP with 429 and Retry-After, without touching other IPs', async () => {
    const ip = randomIp();
    const codes: number[] = [];
    for (let i = 0; i < 5; i++) codes.push((await login(uniqueEmail(), 'Wrong-Passw0rd!', ip)).statusCode);
    expect(codes).toEqual([401, 401, 401, 401, 429]);
    const limited = await login(uniqueEmail(), 'Wrong-Passw0rd!', ip);
    expect(limited.statusCode).toBe(429);
    expect(limited.json()).toMatchObject({ code: 'RATE_LIMITED', statusCode: 429 });
    const retryAfter = Number(limited.headers['retry-after']);
    expect(retryAfter).toBeGreaterThan(0);
    expect(retryAfter).toBeLessThanOrEqual(30);
    expect((await login(uniqueEmail(), 'Wrong-Passw0rd!', randomIp())).statusCode).toBe(401);
  });

  /** A loopback peer of its own (not 127.0.0.1, whose counters every request without remoteAddress shares). */
  const loopbackPeer = () => randomIp().replace(/^\d+\./, '127.');

  it('ignores X-Forwarded-For from a peer outside TRUSTED_PROXIES: rotating it escapes no per-IP limit', async () => {
    const peer = loopbackPeer();
    const logins: number[] = [];
    for (let i = 0; i < 5; i++) {
      const res = await users.request({
        method: 'POST',
        url: '/auth/login',
        remoteAddress: peer,
        headers: { 'x-forwarded-for': randomIp() },
        payload: { email: uniqueEmail(), password: 'Wrong-Passw0rd!' },
      });
      logins.push(res.statusCode);
    }
    expect(logins).toEqual([401, 401, 401, 401, 429]);
    const registrations: number[] = [];
    for (let i = 0; i < 3; i++) {
      const res = await users.request({
        method: 'POST',
        url: '/auth/register',
        remoteAddress: peer,
        headers: { 'x-forwarded-for': `${randomIp()}, ${randomIp()}` },
        payload: {
          email: uniqueEmail(),
          password: strongPassword(),
          first_name: 'Ada',
          last_name: 'Lovelace',
          accept_terms: true,
        },
      });
      registrations.push(res.statusCode);
    }
    expect(registrations).toEqual([201, 201, 429]);
  });

  describe('behind a trusted proxy (TRUSTED_PROXIES=127.0.0.1/32)', () => {
    let proxied: ServiceHarness;
    beforeAll(async () => {
      proxied = await startUserService(smtp, {
        TRUSTED_PROXIES: '127.0.0.1/32',
        RATE_LIMIT_WINDOW_SECONDS: '30',
        RATE_LIMIT_LOGIN_PER_IP: '4',
        RATE_LIMIT_LOGIN_PER_EMAIL: '8',
      });
    });
    afterAll(() => proxied?.close());

    const viaProxy = (forwardedFor: string) =>
      proxied.request({
        method: 'POST',
        url: '/auth/login',
        remoteAddress: '127.0.0.1',
        headers: { 'x-forwarded-for': forwardedFor },
        payload: { email: uniqueEmail(), password: 'Wrong-Passw0rd!' },
      });

    it('counts the forwarded client address, not the proxy', async () => {
      const client = randomIp();
      const codes: number[] = [];
      for (let i = 0; i < 5; i++) codes.push((await viaProxy(client)).statusCode);
      expect(codes).toEqual([401, 401, 401, 401, 429]);
      // Other clients behind the same proxy are not limited by that one.
      for (let i = 0; i < 5; i++) expect((await viaProxy(randomIp())).statusCode).toBe(401);
    });

    it('still ignores the header from a peer that is not the proxy', async () => {
      const peer = loopbackPeer();
      const codes: number[] = [];
      for (let i = 0; i < 5; i++) {
        const res = await proxied.request({
          method: 'POST',
          url: '/auth/login',
          remoteAddress: peer,
          headers: { 'x-forwarded-for': randomIp() },
          payload: { email: uniqueEmail(), password: 'Wrong-Passw0rd!' },
        });
        codes.push(res.statusCode);
      }
      expect(codes).toEqual([401, 401, 401, 401, 429]);
    });
  });

  it('locks an account after repeated failed logins (even the right password is refused), then unlocks', async () => {
    const customer = await createVerifiedCustomer(users, smtp);
    for (let i = 0; i < 3; i++)
      expect((await login(customer.email, 'Wrong-Passw0rd!', randomIp())).statusCode).toBe(401);
    const locked = await login(customer.email, customer.password, randomIp());
    expect(locked.statusCode).toBe(429);
    expect(locked.json()).toMatchObject({ code: 'ACCOUNT_LOCKED' });
    expect(Number(locked.headers['retry-after'])).toBeGreaterThan(0);
    await new Promise((r) => setTimeout(r, 2100));
    expect((await login(customer.email, customer.password, randomIp())).statusCode).toBe(200);
  });

  it('locks unknown emails the same way, so the lock reveals nothing', async () => {
    const email = uniqueEmail('ghost');
    const codes: number[] = [];
    for (let i = 0; i < 4; i++) codes.push((await login(email, 'Wrong-Passw0rd!', randomIp())).statusCode);
    expect(codes).toEqual([401, 401, 401, 429]);
  });

  it('a successful login resets the failure count', async () => {
    const customer = await createVerifiedCustomer(users, smtp);
    for (let round = 0; round < 2; round++) {
      expect((await login(customer.email, 'Wrong-Passw0rd!', randomIp())).statusCode).toBe(401);
      expect((await login(customer.email, 'Wrong-Passw0rd!', randomIp())).statusCode).toBe(401);
      expect((await login(customer.email, customer.password, randomIp())).statusCode).toBe(200);
    }
  });

  it('limits registrations per IP and per email', async () => {
    const ip = randomIp();
    const register = (email: string, from: string) =>
      users.request({
        method: 'POST',
        url: '/auth/register',
        remoteAddress: from,
        payload: { email, password: strongPassword(), first_name: 'R', last_name: 'L', accept_terms: true },
      });
    expect((await register(uniqueEmail(), ip)).statusCode).toBe(201);
    expect((await register(uniqueEmail(), ip)).statusCode).toBe(201);
    const third = await register(uniqueEmail(), ip);
    expect(third.statusCode).toBe(429);
    expect(third.headers['retry-after']).toBeDefined();

    const email = uniqueEmail();
    expect((await register(email, randomIp())).statusCode).toBe(201);
    expect((await register(email, randomIp())).statusCode).toBe(409);
    expect((await register(email, randomIp())).statusCode).toBe(429);
  });

  it('limits resend-verification and password-reset per email and per IP', async () => {
    const email = uniqueEmail();
    const codes: number[] = [];
    for (const url of ['/auth/password-reset', '/auth/resend-verification', '/auth/password-reset']) {
      codes.push(
        (await users.request({ method: 'POST', url, remoteAddress: randomIp(), payload: { email } }))
          .statusCode,
      );
    }
    expect(codes).toEqual([200, 200, 429]);

    const ip = randomIp();
    const perIp: number[] = [];
    for (let i = 0; i < 4; i++) {
      perIp.push(
        (
          await users.request({
            method: 'POST',
            url: '/auth/password-reset',
            remoteAddress: ip,
            payload: { email: uniqueEmail() },
          })
        ).statusCode,
      );
    }
    expect(perIp).toEqual([200, 200, 200, 429]);
  });
});
