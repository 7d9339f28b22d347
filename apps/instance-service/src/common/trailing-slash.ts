import { Injectable, OnModuleInit } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import type { FastifyInstance } from 'fastify';

/** The collection routes DESIGN.md spells with a trailing slash (`POST /api/v1/instances/`, as the original). */
const SLASHED = /^\/api\/v1\/instances\/(?=\?|$)/;

/**
 * Nest strips trailing slashes from route paths, and the shared Fastify adapter does not ignore them, so
 * `/api/v1/instances/` would be a 404 (POST: no route; GET: `…/:id` with an empty id). A request for that
 * exact path is sent through the router again without the slash, before its body is read. Remove once the
 * adapter sets `ignoreTrailingSlash`.
 */
@Injectable()
export class TrailingSlashRoutes implements OnModuleInit {
  constructor(private readonly adapterHost: HttpAdapterHost) {}

  onModuleInit(): void {
    const fastify = this.adapterHost.httpAdapter?.getInstance() as FastifyInstance | undefined;
    if (!fastify?.addHook) return;
    fastify.addHook('onRequest', (request, reply, done) => {
      const url = request.raw.url ?? '';
      if (!SLASHED.test(url)) {
        done();
        return;
      }
      request.raw.url = url.replace(SLASHED, '/api/v1/instances');
      void reply.hijack();
      fastify.routing(request.raw, reply.raw);
    });
  }
}
