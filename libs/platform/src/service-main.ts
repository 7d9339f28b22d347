import { Type } from '@nestjs/common';
import { z } from 'zod';
import { assertServiceCredentials, ServiceName } from '@app/database';
import { createHttpApp, runService } from '@app/http';

/** The whole main.ts of an HTTP service (and of the worker's health/metrics server). */
export function runHttpService(
  service: ServiceName,
  module: Type,
  envSchema: z.ZodType<{
    PORT: number;
    HOST: string;
    DB_SERVICE_USER?: string;
    DB_SERVICE_PASSWORD?: string;
    POSTGRES_USER?: string;
  }>,
): void {
  void runService({
    service,
    envSchema,
    preflight: (config) => assertServiceCredentials(service, config),
    start: async (config, logger) => {
      const app = await createHttpApp(module, { service, logger });
      await app.listen({ port: config.PORT, host: config.HOST });
      return app;
    },
  });
}
