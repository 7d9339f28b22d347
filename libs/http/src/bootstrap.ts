import { INestApplicationContext, Logger, Type } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, NestFastifyApplication } from '@nestjs/platform-fastify';
import type { MicroserviceOptions } from '@nestjs/microservices';
import { SwaggerModule } from '@nestjs/swagger';
import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import {
  assertNoShippedSecrets,
  ConfigValidationError,
  loadConfig,
  ShippedSecretError,
  trustedProxiesEnv,
} from '@app/config';
import { jsonDepthExceeds, jsonTooDeepError, MAX_JSON_DEPTH } from './json-body';
import { JsonLogger } from './json-logger';
import { API_REFERENCE_PATH, apiReferenceOf, buildOpenApiDocument } from './openapi';

const REQUEST_ID = /^[A-Za-z0-9._:-]{8,128}$/;

const BODY_LIMIT = 1024 * 1024;

/**
 * The Fastify adapter every service runs on. `trustedProxies` (TRUSTED_PROXIES) are the only peers whose
 * X-Forwarded-For is believed: with none, `request.ip` is always the TCP peer, so a client cannot pick its
 * own address (and escape the per-IP rate limits) by sending the header.
 */
export function createFastifyAdapter(trustedProxies: readonly string[] = []): FastifyAdapter {
  const adapter = new FastifyAdapter({
    bodyLimit: BODY_LIMIT,
    trustProxy: trustedProxies.length > 0 ? [...trustedProxies] : false,
    genReqId: (req: { headers: Record<string, string | string[] | undefined> }) => {
      const given = req.headers['x-request-id'];
      return typeof given === 'string' && REQUEST_ID.test(given) ? given : randomUUID();
    },
  });
  useBoundedJsonParser(adapter);
  return adapter;
}

/**
 * Fastify's own JSON parser (prototype-poisoning checks included), behind a depth check on the raw text:
 * JSON nested deeper than MAX_JSON_DEPTH is a 400 VALIDATION_FAILED before anything recurses over it.
 */
function useBoundedJsonParser(adapter: FastifyAdapter): void {
  const fastify = adapter.getInstance();
  const parseJson = fastify.getDefaultJsonParser('error', 'error');
  adapter.useBodyParser('application/json', false, { bodyLimit: BODY_LIMIT }, (request, body, done) => {
    const text = body.toString('utf8');
    if (jsonDepthExceeds(text, MAX_JSON_DEPTH)) {
      done(jsonTooDeepError(), undefined);
      return;
    }
    parseJson(request, text, done);
  });
}

const MICROSERVICE_KEY = Symbol('connectsMicroservice');

/**
 * Makes the app hybrid: createHttpApp connects a @nestjs/microservices server with these options (read when
 * the app is built, from the environment then in force) and starts it with the HTTP app, so its
 * @EventPattern handlers run in production and in every test that boots the module alike.
 */
export function ConnectsMicroservice(options: () => MicroserviceOptions): ClassDecorator {
  return (target) => Reflect.defineMetadata(MICROSERVICE_KEY, options, target);
}

export interface HttpAppOptions {
  service: string;
  version?: string;
  description?: string;
  logger?: JsonLogger | false;
}

/** Builds a service exactly as production runs it; e2e tests call this too. */
export async function createHttpApp(module: Type, options: HttpAppOptions): Promise<NestFastifyApplication> {
  const { TRUSTED_PROXIES } = loadConfig(trustedProxiesEnv);
  const app = await NestFactory.create<NestFastifyApplication>(
    module,
    createFastifyAdapter(TRUSTED_PROXIES),
    {
      abortOnError: false,
      bufferLogs: options.logger !== false,
      logger: options.logger === false ? false : undefined,
    },
  );
  if (options.logger) app.useLogger(options.logger);
  const microservice = Reflect.getMetadata(MICROSERVICE_KEY, module) as
    (() => MicroserviceOptions) | undefined;
  if (microservice) app.connectMicroservice<MicroserviceOptions>(microservice());
  const document = buildOpenApiDocument(app, options);
  SwaggerModule.setup('docs', app, document, { jsonDocumentUrl: 'docs/json' });
  const reference = apiReferenceOf(module);
  if (reference) {
    SwaggerModule.setup(API_REFERENCE_PATH, app, reference, {
      jsonDocumentUrl: `${API_REFERENCE_PATH}/json`,
    });
  }
  await app.init();
  if (microservice) await app.startAllMicroservices();
  return app;
}

/** Prints one clear line for the fatal startup errors and exits non-zero; anything else with its stack. */
export function exitOnStartupError(service: string, error: unknown): never {
  if (error instanceof ConfigValidationError || error instanceof ShippedSecretError) {
    process.stderr.write(`${service}: ${error.message}\n`);
  } else if (error instanceof Error && error.name === 'DbUserGuardError') {
    process.stderr.write(`${service}: ${error.message}\n`);
  } else {
    process.stderr.write(
      `${service}: failed to start: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
    );
  }
  process.exit(1);
}

export interface ServiceMain<S extends z.ZodType> {
  service: string;
  envSchema: S;
  /** Checks that must pass before Nest starts (e.g. the DB-user guard's credential checks). */
  preflight?: (config: z.infer<S>) => void;
  start: (config: z.infer<S>, logger: JsonLogger) => Promise<INestApplicationContext>;
}

/** main.ts of every app: validate config, run preflight checks, start, and make shutdown bounded. */
export async function runService<S extends z.ZodType>(spec: ServiceMain<S>): Promise<void> {
  try {
    const config = loadConfig(spec.envSchema) as z.infer<S> & {
      LOG_LEVEL?: string;
      SHUTDOWN_TIMEOUT_MS?: number;
    };
    assertNoShippedSecrets(config);
    spec.preflight?.(config);
    const logger = new JsonLogger(spec.service, config.LOG_LEVEL);
    const app = await spec.start(config, logger);
    const timeout = config.SHUTDOWN_TIMEOUT_MS ?? 10000;
    for (const signal of ['SIGTERM', 'SIGINT'] as const) {
      process.once(signal, () => {
        setTimeout(() => {
          logger.error(`shutdown took longer than ${timeout} ms, exiting`, undefined, 'Shutdown');
          process.exit(1);
        }, timeout).unref();
        void app.close().then(
          () => process.exit(0),
          () => process.exit(1),
        );
      });
    }
    new Logger('Bootstrap').log(`${spec.service} started`);
  } catch (error) {
    exitOnStartupError(spec.service, error);
  }
}
