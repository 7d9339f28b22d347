/**
 * The portal in host mode (started and supervised by `npm run start:local`): serves the built portal
 * (apps/portal/dist) with SPA fallback to index.html, and proxies /user, /tenant, /instance and /billing to the
 * services with the prefix stripped, exactly as Traefik does at api.<BASE_DOMAIN> and app.<BASE_DOMAIN>
 * (docker-compose.dev.yml): `/internal` and `/metrics` of a service are not routed. Same origin, so no CORS;
 * the refresh cookie's Path=/user/auth matches what the browser asks for. Responses are streamed, so
 * Server-Sent Events pass unbuffered.
 */
import fastifyHttpProxy from '@fastify/http-proxy';
import fastifyStatic from '@fastify/static';
import Fastify from 'fastify';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { z } from 'zod';

const url = z
  .url({ protocol: /^https?$/ })
  .transform((value) => value.replace(/\/+$/, ''))
  .pipe(z.string());

const envSchema = z.object({
  HOST: z.string().min(1).default('127.0.0.1'),
  PORTAL_PORT: z.coerce.number().int().min(1).max(65535).default(3000),
  PORTAL_DIST: z.string().min(1).default('apps/portal/dist'),
  USER_SERVICE_URL: url.default('http://127.0.0.1:8001'),
  TENANT_SERVICE_URL: url.default('http://127.0.0.1:8002'),
  INSTANCE_SERVICE_URL: url.default('http://127.0.0.1:8003'),
  BILLING_SERVICE_URL: url.default('http://127.0.0.1:8004'),
});

/** Shown instead of the portal until it is built. */
export const NOT_BUILT_PAGE =
  '<!doctype html><title>Portal not built</title><p>The portal is not built yet: run <code>npm run build</code> ' +
  '(it writes apps/portal/dist), then restart <code>npm run start:local</code>.</p>\n';

/** What Traefik does not route for a service (see the routers in docker-compose.dev.yml). */
const UNROUTED = /^\/(internal|metrics)(\/|$|\?)/;

function notRouted(reply: FastifyReply): FastifyReply {
  return reply
    .code(404)
    .type('application/json')
    .send({ statusCode: 404, error: 'Not Found', message: 'Not routed' });
}

export async function startPortalServer(env: NodeJS.ProcessEnv = process.env) {
  const parsed = envSchema.safeParse(env);
  if (!parsed.success) {
    throw new Error(
      `portal-server: invalid configuration: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`,
    );
  }
  const config = parsed.data;
  const app = Fastify({ logger: { level: 'info' } });

  const upstreams = {
    user: config.USER_SERVICE_URL,
    tenant: config.TENANT_SERVICE_URL,
    instance: config.INSTANCE_SERVICE_URL,
    billing: config.BILLING_SERVICE_URL,
  };
  for (const [prefix, upstream] of Object.entries(upstreams)) {
    await app.register(fastifyHttpProxy, {
      upstream,
      prefix: `/${prefix}`,
      rewritePrefix: '',
      // Long-lived answers (the event stream) are not cut off; heartbeats keep them alive.
      undici: { bodyTimeout: 0, headersTimeout: 60_000 },
      preHandler: async (request: FastifyRequest, reply: FastifyReply) => {
        const rest = request.url.slice(prefix.length + 1);
        if (UNROUTED.test(rest)) return notRouted(reply);
      },
    });
  }

  const root = resolve(config.PORTAL_DIST);
  const built = existsSync(resolve(root, 'index.html'));
  if (built) {
    await app.register(fastifyStatic, {
      root,
      wildcard: false,
      index: ['index.html'],
      setHeaders: (res, path) => {
        res.header(
          'cache-control',
          path.endsWith('.html') ? 'no-cache' : 'public, max-age=31536000, immutable',
        );
      },
    });
  }

  // start:local's readiness check (answers whether or not the portal is built).
  app.get('/healthz', () => ({ status: 'ok', portal_built: built }));

  // SPA fallback: any other GET of a page (not of a file such as /assets/x.js) gets index.html, and the
  // portal's router takes it from there.
  app.setNotFoundHandler((request, reply) => {
    const path = request.url.split('?')[0] ?? '/';
    const isFile = /\.[A-Za-z0-9]+$/.test(path);
    const isPage = (request.method === 'GET' || request.method === 'HEAD') && !isFile;
    if (!isPage) return reply.code(404).send({ statusCode: 404, error: 'Not Found', message: 'Not found' });
    if (!built) return reply.code(503).type('text/html; charset=utf-8').send(NOT_BUILT_PAGE);
    return reply.header('cache-control', 'no-cache').sendFile('index.html');
  });

  await app.listen({ port: config.PORTAL_PORT, host: config.HOST });
  return app;
}

if (require.main === module) {
  startPortalServer().then(
    (app) => {
      for (const signal of ['SIGTERM', 'SIGINT'] as const) {
        process.once(signal, () => {
          void app.close().then(() => process.exit(0));
        });
      }
    },
    (error: unknown) => {
      process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
      process.exit(1);
    },
  );
}
