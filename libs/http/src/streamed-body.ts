import type { Provider } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import type { FastifyInstance } from 'fastify';

/**
 * Request bodies of these content types are not parsed (nor held in memory, nor bound by the JSON body limit):
 * the route handler reads `request.raw` as a stream itself, e.g. with busboy for a multipart upload. A provider
 * of the module that owns the streaming route, so a test booting AppModule gets what production gets; it runs
 * while the module is instantiated, before Fastify is ready.
 */
export function streamedBodyTypes(token: string, types: readonly string[]): Provider {
  return {
    provide: token,
    inject: [HttpAdapterHost],
    useFactory: (host: HttpAdapterHost): readonly string[] => {
      const fastify = host.httpAdapter.getInstance<FastifyInstance>();
      for (const type of types) {
        if (fastify.hasContentTypeParser(type)) continue;
        fastify.addContentTypeParser(type, (_request, _payload, done) => done(null, undefined));
      }
      return types;
    },
  };
}
