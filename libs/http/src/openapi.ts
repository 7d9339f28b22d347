import { INestApplication, Type } from '@nestjs/common';
import type { NestContainer } from '@nestjs/core';
import { DECORATORS, DocumentBuilder, getSchemaPath, SwaggerModule } from '@nestjs/swagger';
import type { OpenAPIObject, OperationObject, ResponseObject, SchemaObject } from '@nestjs/swagger';
import { readFileSync } from 'node:fs';
import { STATUS_CODES } from 'node:http';
import { resolve } from 'node:path';
import { ErrorEnvelope } from './error-envelope';

/** Names of the security schemes every service document declares. */
export const SECURITY = {
  /** Customers and admins: the ES256 access token from user-service's login. */
  bearer: 'bearer',
  /** `/internal/*`: the service credential, never routed by Traefik. */
  internalToken: 'internal-token',
  /** Kill Bill's push notifications: the shared secret in the `token` query parameter. */
  killBillWebhookToken: 'killbill-webhook-token',
} as const;

export type ErrorCodes = Partial<Record<number, readonly string[]>>;

const ERROR_CODES_KEY = 'app:api-error-codes';

/** What any operation with a JSON body can answer before its handler runs (validation pipe, Fastify). */
export const JSON_BODY_ERRORS: ErrorCodes = {
  400: ['VALIDATION_FAILED', 'BAD_REQUEST'],
  413: ['PAYLOAD_TOO_LARGE'],
  415: ['UNSUPPORTED_MEDIA_TYPE'],
};

/** A query string checked by a DTO, or a path parameter checked by a pipe (ParseUUIDPipe: BAD_REQUEST). */
export const QUERY_ERRORS: ErrorCodes = { 400: ['VALIDATION_FAILED'] };
export const PARAM_ERRORS: ErrorCodes = { 400: ['BAD_REQUEST'] };

/** The response object for one error status: the shared envelope, narrowed to the codes it can carry. */
export function errorResponse(status: number, codes: readonly string[]): ResponseObject {
  const reason = STATUS_CODES[status] ?? 'Error';
  return {
    description: `${reason}: ${codes.join(', ')}`,
    content: {
      'application/json': {
        schema: {
          allOf: [
            { $ref: getSchemaPath(ErrorEnvelope) },
            {
              type: 'object',
              properties: {
                statusCode: { type: 'integer', enum: [status] },
                code: { type: 'string', enum: [...codes] },
              },
            },
          ],
        },
        example: {
          statusCode: status,
          error: reason,
          code: codes[0],
          message: `${reason}`,
          details: [],
          request_id: 'req-3f6c2a9e',
        },
      },
    },
  };
}

function addErrorCodes(target: object, errors: ErrorCodes): void {
  const known: Record<string, string[]> = Reflect.getMetadata(ERROR_CODES_KEY, target) ?? {};
  const responses: Record<string, unknown> = Reflect.getMetadata(DECORATORS.API_RESPONSE, target) ?? {};
  const merged: Record<string, string[]> = { ...known };
  const updated: Record<string, unknown> = { ...responses };
  for (const [status, codes] of Object.entries(errors)) {
    const all = [...new Set([...(known[status] ?? []), ...(codes ?? [])])].sort();
    merged[status] = all;
    const { description, content } = errorResponse(Number(status), all);
    // The swagger response explorer turns `schema` into the media type; the example rides along with it.
    const media = content?.['application/json'];
    updated[status] = { description, schema: media?.schema as SchemaObject, example: media?.example };
  }
  Reflect.defineMetadata(ERROR_CODES_KEY, merged, target);
  Reflect.defineMetadata(DECORATORS.API_RESPONSE, updated, target);
}

/**
 * Documents the error responses of an operation (or of every operation of a controller) as the shared
 * ErrorEnvelope with the `code` values each status can carry. Codes accumulate: a controller-level
 * `ApiErrors({401: [...]})` and a method-level `ApiErrors({401: [...]})` document the union.
 */
export function ApiErrors(...lists: ErrorCodes[]): MethodDecorator & ClassDecorator {
  const errors: Record<string, string[]> = {};
  for (const list of lists) {
    for (const [status, codes] of Object.entries(list))
      errors[status] = [...(errors[status] ?? []), ...(codes ?? [])];
  }
  return (target: object, _key?: string | symbol, descriptor?: PropertyDescriptor): void => {
    if (descriptor) {
      addErrorCodes(descriptor.value as object, errors);
      return;
    }
    addErrorCodes(target, errors);
    // Method decorators ran first; a method's own entry for a status would hide the controller's codes.
    const prototype = (target as { prototype: Record<string, unknown> }).prototype;
    for (const name of Object.getOwnPropertyNames(prototype)) {
      const method = name === 'constructor' ? undefined : prototype[name];
      if (typeof method !== 'function') continue;
      const own: Record<string, string[]> | undefined = Reflect.getMetadata(ERROR_CODES_KEY, method);
      const shared = Object.fromEntries(Object.entries(errors).filter(([status]) => own?.[status]));
      if (Object.keys(shared).length > 0) addErrorCodes(method, shared);
    }
  };
}

/**
 * A route registered on Fastify directly (outside Nest's router, so the swagger scanner cannot see it),
 * documented on the provider class that registers it. `models` are the DTO classes its schemas refer to.
 */
export interface RawRouteDoc {
  method: 'get' | 'post' | 'put' | 'delete' | 'patch';
  path: string;
  operation: OperationObject;
  models?: Type[];
}

const RAW_ROUTES_KEY = 'app:openapi-raw-routes';

export function ApiRawRoute(doc: RawRouteDoc): ClassDecorator {
  return (target) => {
    const routes: RawRouteDoc[] = Reflect.getMetadata(RAW_ROUTES_KEY, target) ?? [];
    Reflect.defineMetadata(RAW_ROUTES_KEY, [...routes, doc], target);
  };
}

function rawRoutes(app: INestApplication): RawRouteDoc[] {
  // The same container the swagger scanner walks; metatypes are there even in preview mode.
  const container = (app as unknown as { container: NestContainer }).container;
  const found: RawRouteDoc[] = [];
  for (const module of container.getModules().values()) {
    for (const wrapper of module.providers.values()) {
      const metatype = wrapper.metatype;
      if (typeof metatype === 'function')
        found.push(...(Reflect.getMetadata(RAW_ROUTES_KEY, metatype) ?? []));
    }
  }
  return found;
}

export interface OpenApiInfo {
  service: string;
  version?: string;
  description?: string;
}

/** One service's OpenAPI document, built from its controllers' and DTOs' decorators. */
export function buildOpenApiDocument(app: INestApplication, info: OpenApiInfo): OpenAPIObject {
  const routes = rawRoutes(app);
  const document = SwaggerModule.createDocument(
    app,
    new DocumentBuilder()
      .setTitle(info.service)
      .setDescription(info.description ?? `${info.service} API`)
      .setVersion(info.version ?? '0.1.0')
      .addBearerAuth(
        {
          type: 'http',
          scheme: 'bearer',
          bearerFormat: 'JWT',
          description: 'Access token from POST /auth/login',
        },
        SECURITY.bearer,
      )
      .addApiKey(
        {
          type: 'apiKey',
          in: 'header',
          name: 'x-internal-token',
          description: 'Service credential (INTERNAL_API_TOKEN)',
        },
        SECURITY.internalToken,
      )
      .addApiKey(
        {
          type: 'apiKey',
          in: 'query',
          name: 'token',
          description: 'KILLBILL_WEBHOOK_SECRET, in the callback URL',
        },
        SECURITY.killBillWebhookToken,
      )
      .build(),
    {
      extraModels: [ErrorEnvelope, ...routes.flatMap((r) => r.models ?? [])],
      operationIdFactory: (controller, method) => `${controller.replace(/Controller$/, '')}_${method}`,
    },
  );
  for (const route of routes) {
    document.paths[route.path] = { ...document.paths[route.path], [route.method]: route.operation };
  }
  // The auth decorators (@app/auth) name their scheme; an operation without one takes no credential.
  for (const item of Object.values(document.paths)) {
    for (const method of ['get', 'put', 'post', 'delete', 'patch'] as const) {
      const operation = item[method];
      if (operation && !operation.security) operation.security = [];
    }
  }
  return document;
}

/**
 * Where a service marked with ServesApiReference serves the merged public document (UI, and JSON at
 * `/reference/docs/json`). The last segment is `docs` so that the UI's relative asset links also work when
 * Traefik maps api.<BASE_DOMAIN>/docs… onto it (addPrefix /reference, docker-compose.dev.yml).
 */
export const API_REFERENCE_PATH = 'reference/docs';

const API_REFERENCE_KEY = 'app:api-reference-file';

/**
 * Marks the root module of the service that serves the merged public reference (`npm run docs:openapi`
 * writes it; the file is read at boot, relative to the working directory: the repository, or /app in the
 * image). A missing or unreadable file stops the boot.
 */
export function ServesApiReference(file = 'docs/openapi.json'): ClassDecorator {
  return (target) => Reflect.defineMetadata(API_REFERENCE_KEY, file, target);
}

export function apiReferenceOf(module: Type): OpenAPIObject | undefined {
  const file: string | undefined = Reflect.getMetadata(API_REFERENCE_KEY, module);
  if (!file) return undefined;
  return JSON.parse(readFileSync(resolve(process.cwd(), file), 'utf8')) as OpenAPIObject;
}
