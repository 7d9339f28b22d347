import { Controller, Get, Module } from '@nestjs/common';
import { ApiOkResponse } from '@nestjs/swagger';
import { NestFactory } from '@nestjs/core';
import { createServer, Server } from 'node:http';
import { AddressInfo } from 'node:net';
import { Redis } from 'ioredis';
import { exportJWK, generateKeyPair, JWK, SignJWT } from 'jose';
import { z } from 'zod';
import {
  authEnv,
  Authenticated,
  AuthModule,
  CurrentUser,
  InternalOnly,
  InternalCallError,
  InternalHttpClient,
  publishJwks,
} from '@app/auth';
import type { AuthenticatedUser } from '@app/auth';
import { commonEnv, ConfigModule, ConfigValidationError, loadConfig, redisEnv } from '@app/config';
import { HttpCoreModule } from '@app/http';
import { RedisModule } from '@app/redis';
import { ServiceHarness, startService, TcpProxy } from '@app/testing';

/** Documented like a real service's routes, since the harness checks every answer against the document. */
@Controller()
class ProbeController {
  @Get('me')
  @Authenticated()
  @ApiOkResponse({ description: 'The authenticated caller', schema: { type: 'object' } })
  me(@CurrentUser() user: AuthenticatedUser) {
    return user;
  }

  @Get('internal/ping')
  @InternalOnly()
  @ApiOkResponse({ schema: { type: 'object', properties: { pong: { type: 'boolean' } } } })
  ping() {
    return { pong: true };
  }
}

const schema = z.object({ ...commonEnv.shape, ...redisEnv.shape, ...authEnv.shape });

@Module({
  imports: [ConfigModule.forRoot(schema), HttpCoreModule, RedisModule, AuthModule.forRoot()],
  controllers: [ProbeController],
})
class ProbeModule {}

const TOKEN = 'an-internal-token-of-at-least-32-characters';

interface Signer {
  kid: string;
  key: CryptoKey;
  publicJwk: JWK;
}

async function signer(kid: string): Promise<Signer> {
  const { publicKey, privateKey } = await generateKeyPair('ES256', { extractable: true });
  return {
    kid,
    key: privateKey,
    publicJwk: { ...(await exportJWK(publicKey)), kid, alg: 'ES256', use: 'sig' },
  };
}

describe('@app/auth in a service of its own', () => {
  const prefix = `auth-test-${process.pid}-${Date.now()}:`;
  const redis = new Redis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379');
  let app: ServiceHarness;
  let first: Signer;

  async function sign(
    s: Signer,
    claims: Record<string, unknown>,
    options: { iss?: string; aud?: string; exp?: number } = {},
  ) {
    const now = Math.floor(Date.now() / 1000);
    return new SignJWT(claims)
      .setProtectedHeader({ alg: 'ES256', kid: s.kid })
      .setIssuer(options.iss ?? 'saasodoo-user-service')
      .setAudience(options.aud ?? 'saasodoo')
      .setIssuedAt(now)
      .setExpirationTime(options.exp ?? now + 60)
      .sign(s.key);
  }

  async function liveToken(s = first, extra: Record<string, unknown> = {}) {
    const sid = `sid-${Math.random().toString(36).slice(2)}`;
    const sub = `user-${Math.random().toString(36).slice(2)}`;
    await redis.set(`${prefix}session:${sid}`, sub, 'EX', 60);
    return {
      sid,
      sub,
      token: await sign(s, { sub, sid, email: `${sub}@example.test`, role: 'customer', ...extra }),
    };
  }

  const get = (url: string, headers: Record<string, string> = {}) =>
    app.request({ method: 'GET', url, headers });

  beforeAll(async () => {
    first = await signer('first-key');
    await publishJwks(redis, prefix, { keys: [first.publicJwk as never] });
    app = await startService(ProbeModule, 'probe', {
      REDIS_URL: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379',
      INTERNAL_API_TOKEN: TOKEN,
      AUTH_REDIS_PREFIX: prefix,
      AUTH_JWKS_CACHE_SECONDS: '3600',
    });
  });
  afterAll(async () => {
    await app?.close();
    const keys = await redis.keys(`${prefix}*`);
    if (keys.length) await redis.del(...keys);
    redis.disconnect();
  });

  it('accepts a valid token of a live session and exposes the user; refuses it once the session key is gone', async () => {
    const { sid, sub, token } = await liveToken();
    const ok = await get('/me', { authorization: `Bearer ${token}` });
    expect(ok.statusCode).toBe(200);
    expect(ok.json()).toEqual({ id: sub, email: `${sub}@example.test`, role: 'customer', session_id: sid });
    await redis.del(`${prefix}session:${sid}`);
    const revoked = await get('/me', { authorization: `Bearer ${token}` });
    expect(revoked.statusCode).toBe(401);
    expect(revoked.json()).toMatchObject({ code: 'SESSION_REVOKED' });
  });

  it('refuses a session key that belongs to another user', async () => {
    const { sid, token } = await liveToken();
    await redis.set(`${prefix}session:${sid}`, 'someone-else', 'EX', 60);
    expect((await get('/me', { authorization: `Bearer ${token}` })).json()).toMatchObject({
      code: 'SESSION_REVOKED',
    });
  });

  it('refuses wrong issuer, audience, role, missing claims, expired tokens and HS256 made with the public key', async () => {
    const sid = 'sid-claims';
    await redis.set(`${prefix}session:${sid}`, 'u1', 'EX', 60);
    const base = { sub: 'u1', sid, email: 'u1@example.test', role: 'customer' };
    const now = Math.floor(Date.now() / 1000);
    const cases: [string, string][] = [
      ['TOKEN_INVALID', await sign(first, base, { iss: 'someone-else' })],
      ['TOKEN_INVALID', await sign(first, base, { aud: 'another-product' })],
      ['TOKEN_INVALID', await sign(first, { ...base, role: 'root' })],
      ['TOKEN_INVALID', await sign(first, { sub: 'u1', email: 'u1@example.test', role: 'customer' })],
      ['TOKEN_EXPIRED', await sign(first, base, { exp: now - 10 })],
      [
        'TOKEN_INVALID',
        await new SignJWT(base)
          .setProtectedHeader({ alg: 'HS256', kid: first.kid })
          .setIssuer('saasodoo-user-service')
          .setAudience('saasodoo')
          .setExpirationTime(now + 60)
          .sign(new TextEncoder().encode(JSON.stringify(first.publicJwk))),
      ],
      ['TOKEN_INVALID', await sign({ ...(await signer('never-published')) }, base)],
    ];
    for (const [code, token] of cases) {
      const res = await get('/me', { authorization: `Bearer ${token}` });
      expect(res.statusCode).toBe(401);
      expect(res.json()).toMatchObject({ code });
    }
  });

  it('learns a newly published key at once when a token names an unknown kid, despite a long cache', async () => {
    const second = await signer(`second-${Date.now()}`);
    const { token } = await liveToken(second);
    // Not published yet: unknown kid, refused.
    expect((await get('/me', { authorization: `Bearer ${token}` })).statusCode).toBe(401);
    await publishJwks(redis, prefix, { keys: [first.publicJwk as never, second.publicJwk as never] });
    await new Promise((r) => setTimeout(r, 1100));
    expect((await get('/me', { authorization: `Bearer ${token}` })).statusCode).toBe(200);
  });

  it('never publishes a private key', async () => {
    const leaked = { ...(first.publicJwk as Record<string, string>), d: 'secret' };
    await expect(publishJwks(redis, `${prefix}other:`, { keys: [leaked as never] })).rejects.toThrow();
    expect(await redis.get(`${prefix}other:jwks`)).toBeNull();
  });

  it('InternalApiGuard accepts only the exact service token (compared in constant time)', async () => {
    const attempts: Record<string, string>[] = [
      {},
      { 'x-internal-token': TOKEN.slice(0, -1) },
      { 'x-internal-token': `${TOKEN} ` },
      { authorization: `Bearer ${TOKEN}` },
    ];
    for (const headers of attempts) {
      const res = await get('/internal/ping', headers);
      expect(res.statusCode).toBe(401);
      expect(res.json()).toMatchObject({ code: 'INTERNAL_AUTH_REQUIRED' });
    }
    const { token } = await liveToken();
    expect((await get('/internal/ping', { authorization: `Bearer ${token}` })).statusCode).toBe(401);
    expect((await get('/internal/ping', { 'x-internal-token': TOKEN })).json()).toEqual({ pong: true });
  });

  it('fails closed with 503 when Redis is unreachable', async () => {
    const proxy = new TcpProxy(
      '127.0.0.1',
      Number(new URL(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379').port || 6379),
    );
    const port = await proxy.start();
    const isolated = await startService(ProbeModule, 'probe', {
      REDIS_URL: `redis://127.0.0.1:${port}`,
      INTERNAL_API_TOKEN: TOKEN,
      AUTH_REDIS_PREFIX: prefix,
    });
    try {
      const { token } = await liveToken();
      expect(
        (await isolated.request({ method: 'GET', url: '/me', headers: { authorization: `Bearer ${token}` } }))
          .statusCode,
      ).toBe(200);
      await proxy.stop();
      const down = await isolated.request({
        method: 'GET',
        url: '/me',
        headers: { authorization: `Bearer ${token}` },
      });
      expect(down.statusCode).toBe(503);
      expect(down.json()).toMatchObject({ code: 'DEPENDENCY_UNAVAILABLE' });
    } finally {
      await isolated.close();
      await proxy.stop();
    }
  });
});

describe('@app/auth configuration', () => {
  it('requires an INTERNAL_API_TOKEN of at least 32 characters', () => {
    expect(() => loadConfig(authEnv, { INTERNAL_API_TOKEN: 'short' })).toThrow(
      /INTERNAL_API_TOKEN: must be at least 32/,
    );
    expect(loadConfig(authEnv, { INTERNAL_API_TOKEN: TOKEN })).toMatchObject({
      AUTH_REDIS_PREFIX: 'auth:',
      AUTH_JWKS_CACHE_SECONDS: 60,
      INTERNAL_HTTP_TIMEOUT_MS: 1500,
    });
  });

  it('refuses to boot an app whose env schema lacks authEnv, saying so', async () => {
    const bare = z.object({ ...commonEnv.shape, ...redisEnv.shape });
    @Module({ imports: [ConfigModule.forRoot(bare), RedisModule, AuthModule] })
    class Misconfigured {}
    const boot = NestFactory.createApplicationContext(Misconfigured, { logger: false, abortOnError: false });
    await expect(boot).rejects.toBeInstanceOf(ConfigValidationError);
    await expect(boot).rejects.toThrow(/INTERNAL_API_TOKEN: missing .*spread authEnv/);
  });
});

describe('InternalHttpClient', () => {
  let server: Server;
  let base: string;
  const seen: Record<string, string | undefined>[] = [];
  let client: InternalHttpClient;

  beforeAll(async () => {
    server = createServer((req, res) => {
      seen.push({ url: req.url, token: req.headers['x-internal-token'] as string | undefined });
      if (req.url === '/slow') return;
      if (req.url === '/fail') return void res.writeHead(500).end('{}');
      res
        .writeHead(200, { 'content-type': 'application/json' })
        .end(JSON.stringify({ count: req.url === '/bad' ? 'x' : 2 }));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
    client = new InternalHttpClient({
      internalApiToken: TOKEN,
      redisPrefix: 'auth:',
      jwksCacheMs: 60000,
      internalHttpTimeoutMs: 200,
    });
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise<void>((r) => server.close(() => r()));
  });

  const shape = z.object({ count: z.number() });

  it('sends the service token and validates the answer', async () => {
    await expect(client.get(base, '/ok', shape)).resolves.toEqual({ count: 2 });
    expect(seen[seen.length - 1]).toEqual({ url: '/ok', token: TOKEN });
  });

  it('reports timeouts, error statuses, unexpected shapes and unreachable services as InternalCallError', async () => {
    const reason = async (call: Promise<unknown>) => {
      const error = await call.then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(error).toBeInstanceOf(InternalCallError);
      return (error as InternalCallError).reason;
    };
    const started = Date.now();
    expect(await reason(client.get(base, '/slow', shape))).toBe('timeout');
    expect(Date.now() - started).toBeLessThan(1000);
    expect(await reason(client.get(base, '/fail', shape))).toBe('http_status');
    expect(await reason(client.get(base, '/bad', shape))).toBe('invalid_response');
    expect(await reason(client.get('http://127.0.0.1:1', '/x', shape))).toBe('unreachable');
  });
});
