import { DynamicModule, Module, Type } from '@nestjs/common';
import { z } from 'zod';
import { ConfigModule } from '@app/config';
import { DatabaseHealthCheck, DatabaseModule, ServiceDataSourceSpec } from '@app/database';
import { HealthCheck, HealthModule } from '@app/health';
import { HttpCoreModule } from '@app/http';
import { MetricsModule } from '@app/metrics';
import { RedisHealthCheck, RedisModule } from '@app/redis';

export interface ServiceCoreOptions {
  envSchema: z.ZodType;
  dataSource: ServiceDataSourceSpec;
  version?: string;
  /** Readiness checks beyond Postgres and Redis (e.g. Docker for the worker). */
  extraChecks?: Type<HealthCheck>[];
  extraImports?: DynamicModule['imports'];
}

/**
 * What every service has: validated config, the error envelope and validation pipe, metrics, its own
 * database behind the DB-user guard, Redis, and the health endpoints checking each of them.
 */
@Module({})
export class ServiceCoreModule {
  static forService(options: ServiceCoreOptions): DynamicModule {
    const service = options.dataSource.service;
    return {
      module: ServiceCoreModule,
      imports: [
        ConfigModule.forRoot(options.envSchema),
        HttpCoreModule,
        MetricsModule.forRoot(service),
        DatabaseModule.forService(options.dataSource),
        RedisModule,
        HealthModule.forRoot(
          { name: service, version: options.version ?? '0.1.0' },
          [DatabaseHealthCheck, RedisHealthCheck, ...(options.extraChecks ?? [])],
          options.extraImports,
        ),
      ],
      exports: [DatabaseModule, RedisModule],
    };
  }
}
