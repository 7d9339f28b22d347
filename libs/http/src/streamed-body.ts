import type { OnModuleInit, Provider } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import type { FastifyInstance } from 'fastify';

/** Registers the pass-through parsers once the module is up, before Fastify is ready. */
class StreamedBodyTypes implements OnModuleInit {
  constructor(
    private readonly host: HttpAdapterHost,
    readonly types: readonly string[],
  ) {}

  onModuleInit(): void {
    // A context without an HTTP server (a testing module, a standalone app) has nothing to register with.
    const fastify = this.host.httpAdapter?.getInstance<FastifyInstance | undefined>();
    if (typeof fastify?.addContentTypeParser !== 'function') return;
    for (const type of this.types) {
      if (fastify.hasContentTypeParser(type)) continue;
      fastify.addContentTypeParser(type, (_request, _payload, done) => done(null, undefined));
    }
  }
}

/**
 * Request bodies of these content types are not parsed (nor held in memory, nor bound by the JSON body limit):
 * the route handler reads `request.raw` as a stream itself, e.g. with busboy for a multipart upload. A provider
 * of the module that owns the streaming route, so a test booting AppModule gets what production gets.
 */
export function streamedBodyTypes(token: string, types: readonly string[]): Provider {
  return {
    provide: token,
    inject: [HttpAdapterHost],
    useFactory: (host: HttpAdapterHost) => new StreamedBodyTypes(host, types),
  };
}
