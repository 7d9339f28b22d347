import { Type } from '@nestjs/common';
import { NestFastifyApplication } from '@nestjs/platform-fastify';
import type { FastifyInstance, InjectOptions, LightMyRequestResponse } from 'fastify';
import type { OpenAPIObject } from '@nestjs/swagger';
import { createHttpApp } from '@app/http';
import { OpenApiResponseValidator } from './openapi-response-validator';

export interface ServiceHarness {
  app: NestFastifyApplication;
  /** Base URL once `listen()` was called (other services reach this one over real HTTP). */
  url?: string;
  /** The service's own OpenAPI document (GET /docs/json). */
  document: OpenAPIObject;
  listen(port?: number): Promise<string>;
  /** fastify.inject, and the answer is checked against `document`: one it does not describe throws. */
  request(options: InjectOptions): Promise<LightMyRequestResponse>;
  close(): Promise<void>;
}

/**
 * Boots a service's real AppModule exactly as main.ts does, with `env` applied to process.env while the
 * modules are instantiated (the config is validated then), and restored afterwards.
 */
export async function startService(
  module: Type,
  service: string,
  env: Record<string, string>,
): Promise<ServiceHarness> {
  const saved = new Map(Object.keys(env).map((k) => [k, process.env[k]]));
  Object.assign(process.env, env);
  let app: NestFastifyApplication;
  try {
    app = await createHttpApp(module, { service, logger: false });
  } finally {
    for (const [k, v] of saved) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  }
  const fastify = app.getHttpAdapter().getInstance() as FastifyInstance;
  await fastify.ready();
  const document = (await fastify.inject({ method: 'GET', url: '/docs/json' })).json<OpenAPIObject>();
  const validator = new OpenApiResponseValidator(document, service);
  const harness: ServiceHarness = {
    app,
    document,
    request: async (options) => {
      const response = await fastify.inject(options);
      validator.check(options.method ?? 'GET', requestPath(options), response);
      return response;
    },
    listen: async (port = 0) => {
      await app.listen({ port, host: '127.0.0.1' });
      const address = fastify.server.address();
      if (!address || typeof address === 'string') throw new Error('no TCP address');
      harness.url = `http://127.0.0.1:${address.port}`;
      return harness.url;
    },
    close: () => app.close(),
  };
  return harness;
}

function requestPath(options: InjectOptions): string {
  if (typeof options.url === 'string') return options.url;
  if (typeof options.path === 'string') return options.path;
  const url = options.url ?? options.path;
  return url && typeof url === 'object' && 'pathname' in url && typeof url.pathname === 'string'
    ? url.pathname
    : '/';
}
