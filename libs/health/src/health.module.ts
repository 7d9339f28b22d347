import {
  Controller,
  DynamicModule,
  Get,
  HttpStatus,
  Inject,
  Injectable,
  Module,
  Optional,
  Res,
  Type,
} from '@nestjs/common';
import {
  ApiExtraModels,
  ApiNotFoundResponse,
  ApiOkResponse,
  ApiOperation,
  ApiServiceUnavailableResponse,
  ApiTags,
} from '@nestjs/swagger';
import { Gauge } from 'prom-client';
import { MetricsRegistry } from '@app/metrics';
import type { FastifyReply } from 'fastify';
import { HEALTH_CHECKS, runCheck, SERVICE_INFO } from './health-check';
import type { HealthCheck, ServiceInfo } from './health-check';
import { CheckResult } from './health-check';
import { DatabaseHealthView, LivenessView, ReadinessView } from './health.views';

const CHECK_TIMEOUT_MS = 3000;

@ApiTags('health')
@ApiExtraModels(CheckResult)
@Controller('health')
class HealthController {
  constructor(
    @Inject(SERVICE_INFO) private readonly service: ServiceInfo,
    @Inject(HEALTH_CHECKS) private readonly checks: HealthCheck[],
  ) {}

  /** Liveness: the process answers. No dependency is touched, so a database outage never restarts it. */
  @Get()
  @ApiOperation({ summary: 'Liveness: the process answers (no dependency is checked)' })
  @ApiOkResponse({ type: LivenessView })
  live(): LivenessView {
    return {
      status: 'healthy',
      service: this.service.name,
      version: this.service.version,
      uptime_seconds: Math.round(process.uptime()),
    };
  }

  @Get('database')
  @ApiOperation({ summary: 'A real query against the service database' })
  @ApiOkResponse({ type: DatabaseHealthView })
  @ApiServiceUnavailableResponse({ type: DatabaseHealthView, description: 'Postgres does not answer' })
  @ApiNotFoundResponse({ type: DatabaseHealthView, description: 'The service has no database' })
  async database(@Res({ passthrough: true }) reply: FastifyReply): Promise<DatabaseHealthView> {
    const check = this.checks.find((c) => c.name === 'database');
    if (!check) {
      reply.status(HttpStatus.NOT_FOUND);
      return { status: 'unhealthy', service: this.service.name, database: 'not_used' };
    }
    const result = await runCheck(check, CHECK_TIMEOUT_MS);
    if (result.status === 'down') reply.status(HttpStatus.SERVICE_UNAVAILABLE);
    const { status, ...details } = result;
    return {
      status: status === 'up' ? 'healthy' : 'unhealthy',
      service: this.service.name,
      database: status === 'up' ? 'connected' : 'disconnected',
      ...details,
    };
  }

  /** Readiness: every dependency answers. */
  @Get('ready')
  @ApiOperation({ summary: 'Readiness: every dependency answers' })
  @ApiOkResponse({ type: ReadinessView })
  @ApiServiceUnavailableResponse({ type: ReadinessView, description: 'At least one check is down' })
  async ready(@Res({ passthrough: true }) reply: FastifyReply): Promise<ReadinessView> {
    const results = await Promise.all(
      this.checks.map(async (c) => [c.name, await runCheck(c, CHECK_TIMEOUT_MS)] as const),
    );
    const ready = results.every(([, r]) => r.status === 'up');
    if (!ready) reply.status(HttpStatus.SERVICE_UNAVAILABLE);
    return {
      status: ready ? 'ready' : 'not_ready',
      service: this.service.name,
      checks: Object.fromEntries(results),
    };
  }
}

/**
 * `dependency_up{dependency}`: the readiness checks, run when Prometheus scrapes, so an alert sees the same
 * truth as /health/ready without anyone polling it.
 */
@Injectable()
class DependencyMetrics {
  constructor(@Inject(HEALTH_CHECKS) checks: HealthCheck[], @Optional() metrics?: MetricsRegistry) {
    if (!metrics || metrics.registry.getSingleMetric('dependency_up')) return;
    new Gauge<'dependency'>({
      name: 'dependency_up',
      help: 'Whether a dependency answers its readiness check (1) or not (0)',
      labelNames: ['dependency'],
      registers: [metrics.registry],
      async collect() {
        const results = await Promise.all(
          checks.map(async (c) => [c.name, await runCheck(c, CHECK_TIMEOUT_MS)] as const),
        );
        for (const [name, result] of results) this.set({ dependency: name }, result.status === 'up' ? 1 : 0);
      },
    });
  }
}

@Module({})
export class HealthModule {
  /** `checks` are providers available in the importing app (exported by their own modules). */
  static forRoot(
    service: ServiceInfo,
    checks: Type<HealthCheck>[],
    imports: DynamicModule['imports'] = [],
  ): DynamicModule {
    return {
      module: HealthModule,
      imports,
      controllers: [HealthController],
      providers: [
        { provide: SERVICE_INFO, useValue: service },
        ...checks,
        { provide: HEALTH_CHECKS, inject: checks, useFactory: (...instances: HealthCheck[]) => instances },
        DependencyMetrics,
      ],
      exports: [SERVICE_INFO],
    };
  }
}
