import { Global, Injectable, Logger, Module, OnModuleInit } from '@nestjs/common';
import { APP_FILTER, APP_PIPE, HttpAdapterHost } from '@nestjs/core';
import type { FastifyInstance } from 'fastify';
import { ErrorEnvelopeFilter } from './error-envelope.filter';
import { createValidationPipe } from './validation';

/** Echoes the request id on every response and writes one structured access-log line per request. */
@Injectable()
class RequestHooks implements OnModuleInit {
  private readonly logger = new Logger('HTTP');
  constructor(private readonly adapterHost: HttpAdapterHost) {}

  onModuleInit() {
    const fastify = this.adapterHost.httpAdapter?.getInstance() as FastifyInstance | undefined;
    if (!fastify?.addHook) return;
    fastify.addHook('onRequest', async (request, reply) => {
      void reply.header('x-request-id', request.id);
    });
    fastify.addHook('onResponse', async (request, reply) => {
      if (request.url === '/metrics' || request.url.startsWith('/health')) return;
      this.logger.log({
        msg: 'request completed',
        request_id: request.id,
        method: request.method,
        route: request.routeOptions?.url ?? 'unmatched',
        status_code: reply.statusCode,
        duration_ms: Math.round(reply.elapsedTime),
      });
    });
  }
}

/** The cross-cutting HTTP behaviour every service shares; a test importing AppModule gets exactly this. */
@Global()
@Module({
  providers: [
    { provide: APP_FILTER, useClass: ErrorEnvelopeFilter },
    { provide: APP_PIPE, useFactory: createValidationPipe },
    RequestHooks,
  ],
})
export class HttpCoreModule {}
