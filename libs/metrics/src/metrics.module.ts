import { Controller, DynamicModule, Get, Header, Injectable, Module, OnModuleInit } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import { ApiOkResponse, ApiOperation, ApiProduces, ApiTags } from '@nestjs/swagger';
import type { FastifyInstance } from 'fastify';
import { collectDefaultMetrics, Histogram, Registry } from 'prom-client';

/** The app's own Prometheus registry (never the global one, so tests can boot several apps in one process). */
@Injectable()
export class MetricsRegistry {
  readonly registry = new Registry();
  readonly httpDuration: Histogram<'method' | 'route' | 'status_code'>;

  constructor(serviceName: string) {
    this.registry.setDefaultLabels({ service: serviceName });
    collectDefaultMetrics({ register: this.registry });
    this.httpDuration = new Histogram({
      name: 'http_request_duration_seconds',
      help: 'HTTP request duration in seconds, by route template and status code',
      labelNames: ['method', 'route', 'status_code'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers: [this.registry],
    });
  }
}

/** Scraped by Prometheus on the compose network; Traefik does not route it (left out of the public reference). */
@ApiTags('metrics')
@Controller('metrics')
class MetricsController {
  constructor(private readonly metrics: MetricsRegistry) {}

  @Get()
  @Header('content-type', 'text/plain; version=0.0.4; charset=utf-8')
  @ApiOperation({ summary: 'Prometheus metrics (text exposition format 0.0.4)' })
  @ApiProduces('text/plain')
  @ApiOkResponse({
    schema: { type: 'string', example: 'http_request_duration_seconds_count{method="GET"} 1' },
  })
  scrape(): Promise<string> {
    return this.metrics.registry.metrics();
  }
}

/**
 * Times every request in Fastify's onResponse hook, so 404s and errors from the filter are counted too (not
 * event streams).
 */
@Injectable()
class HttpMetricsHook implements OnModuleInit {
  constructor(
    private readonly adapterHost: HttpAdapterHost,
    private readonly metrics: MetricsRegistry,
  ) {}

  onModuleInit() {
    const fastify = this.adapterHost.httpAdapter?.getInstance() as FastifyInstance | undefined;
    if (!fastify?.addHook) return;
    fastify.addHook('onResponse', async (request, reply) => {
      // A Server-Sent Events stream lasts as long as the client stays: its duration is no latency.
      if (String(reply.raw.getHeader('content-type') ?? '').startsWith('text/event-stream')) return;
      const route = request.routeOptions?.url ?? 'unmatched';
      this.metrics.httpDuration.observe(
        { method: request.method, route, status_code: String(reply.statusCode) },
        reply.elapsedTime / 1000,
      );
    });
  }
}

@Module({})
export class MetricsModule {
  static forRoot(serviceName: string): DynamicModule {
    return {
      module: MetricsModule,
      global: true,
      controllers: [MetricsController],
      providers: [{ provide: MetricsRegistry, useValue: new MetricsRegistry(serviceName) }, HttpMetricsHook],
      exports: [MetricsRegistry],
    };
  }
}
