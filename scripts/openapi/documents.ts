import 'reflect-metadata';
import { Type } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { OpenAPIObject, OperationObject, PathItemObject, SchemaObject } from '@nestjs/swagger';
import { buildOpenApiDocument, createFastifyAdapter } from '@app/http';
import { AppModule as BillingService } from '../../apps/billing-service/src/app.module';
import { AppModule as InstanceService } from '../../apps/instance-service/src/app.module';
import { AppModule as InstanceWorker } from '../../apps/instance-worker/src/app.module';
import { AppModule as TenantService } from '../../apps/tenant-service/src/app.module';
import { AppModule as UserService } from '../../apps/user-service/src/app.module';

export interface ServiceEntry {
  service: string;
  module: Type;
  /** The prefix Traefik strips on api.<BASE_DOMAIN> (docker-compose.dev.yml); none for the worker. */
  prefix?: string;
  /** Base URL of the service on the compose network, where the other services call `/internal/*`. */
  internalUrl: string;
  urlVariable: string;
}

export const SERVICES: ServiceEntry[] = [
  {
    service: 'user-service',
    module: UserService,
    prefix: '/user',
    internalUrl: 'http://user-service:5000',
    urlVariable: 'USER_SERVICE_URL',
  },
  {
    service: 'tenant-service',
    module: TenantService,
    prefix: '/tenant',
    internalUrl: 'http://tenant-service:5000',
    urlVariable: 'TENANT_SERVICE_URL',
  },
  {
    service: 'instance-service',
    module: InstanceService,
    prefix: '/instance',
    internalUrl: 'http://instance-service:5000',
    urlVariable: 'INSTANCE_SERVICE_URL',
  },
  {
    service: 'billing-service',
    module: BillingService,
    prefix: '/billing',
    internalUrl: 'http://billing-service:5000',
    urlVariable: 'BILLING_SERVICE_URL',
  },
  {
    service: 'instance-worker',
    module: InstanceWorker,
    internalUrl: 'http://instance-worker:5000',
    urlVariable: 'INSTANCE_WORKER_URL',
  },
];

/**
 * A service's document exactly as its `/docs/json` serves it, built in Nest's preview mode: modules are
 * scanned but no provider is created, so nothing connects to Postgres, Redis or Docker.
 */
export async function serviceDocument(entry: ServiceEntry): Promise<OpenAPIObject> {
  const app = await NestFactory.create(entry.module, createFastifyAdapter(), {
    preview: true,
    logger: false,
    abortOnError: false,
  });
  try {
    return buildOpenApiDocument(app, { service: entry.service });
  } finally {
    await app.close();
  }
}

const METHODS = ['get', 'put', 'post', 'delete', 'patch', 'options', 'head', 'trace'] as const;
type Method = (typeof METHODS)[number];

export function operations(
  document: OpenAPIObject,
): { path: string; method: Method; operation: OperationObject }[] {
  return Object.entries(document.paths).flatMap(([path, item]) =>
    METHODS.flatMap((method) => {
      const operation = item[method];
      return operation ? [{ path, method, operation }] : [];
    }),
  );
}

/** Public on api.<BASE_DOMAIN>: Traefik refuses `/<prefix>/internal…` and `/<prefix>/metrics…`. */
function isPublic(path: string): boolean {
  return !path.startsWith('/internal') && !path.startsWith('/metrics');
}

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

function rewriteRefs<T>(value: T, renames: Map<string, string>): T {
  const visit = (node: Json): Json => {
    if (Array.isArray(node)) return node.map(visit);
    if (node === null || typeof node !== 'object') return node;
    return Object.fromEntries(
      Object.entries(node).map(([key, child]) => {
        if (key === '$ref' && typeof child === 'string') {
          const name = child.replace('#/components/schemas/', '');
          return [key, renames.has(name) ? `#/components/schemas/${renames.get(name)}` : child];
        }
        return [key, visit(child)];
      }),
    );
  };
  return visit(JSON.parse(JSON.stringify(value)) as Json) as T;
}

/** Names of the schemas the paths refer to, directly or through other schemas. */
function reachableSchemas(
  paths: Record<string, PathItemObject>,
  schemas: Record<string, SchemaObject>,
): Set<string> {
  const found = new Set<string>();
  const visit = (node: Json): void => {
    if (Array.isArray(node)) return node.forEach(visit);
    if (node === null || typeof node !== 'object') return;
    for (const [key, child] of Object.entries(node)) {
      if (key === '$ref' && typeof child === 'string') {
        const name = child.replace('#/components/schemas/', '');
        if (!found.has(name)) {
          found.add(name);
          visit((schemas[name] ?? null) as Json);
        }
      } else visit(child);
    }
  };
  visit(JSON.parse(JSON.stringify(paths)) as Json);
  return found;
}

function shortName(entry: ServiceEntry): string {
  return entry.service.replace(/-service$/, '').replace(/-(\w)/g, (_m, c: string) => c.toUpperCase());
}

interface Part {
  entry: ServiceEntry;
  document: OpenAPIObject;
  paths: (path: string) => boolean;
}

/** Puts several service documents into one; schemas that share a name but differ get a service prefix. */
function merge(
  parts: Part[],
  head: Pick<OpenAPIObject, 'info' | 'servers'>,
  place: (entry: ServiceEntry, path: string, item: PathItemObject) => [string, PathItemObject],
): OpenAPIObject {
  const schemas: Record<string, SchemaObject> = {};
  const paths: Record<string, PathItemObject> = {};
  const schemes = new Set<string>();
  const securitySchemes = parts[0]?.document.components?.securitySchemes ?? {};
  for (const { entry, document, paths: keep } of parts) {
    const own = document.components?.schemas ?? {};
    const renames = new Map<string, string>();
    for (const [name, schema] of Object.entries(own)) {
      const taken = schemas[name];
      if (taken && JSON.stringify(taken) !== JSON.stringify(schema)) {
        const prefix = shortName(entry);
        renames.set(name, `${prefix[0]?.toUpperCase()}${prefix.slice(1)}${name}`);
      }
    }
    const rewritten = rewriteRefs(document, renames);
    let used = false;
    for (const [path, item] of Object.entries(rewritten.paths)) {
      if (!keep(path)) continue;
      used = true;
      const [key, placed] = place(entry, path, item);
      if (paths[key]) throw new Error(`two services document ${key}`);
      paths[key] = placed;
      for (const method of METHODS) {
        for (const requirement of placed[method]?.security ?? [])
          Object.keys(requirement).forEach((s) => schemes.add(s));
      }
    }
    if (!used) continue;
    for (const [name, schema] of Object.entries(rewritten.components?.schemas ?? {})) {
      schemas[renames.get(name) ?? name] = schema as SchemaObject;
    }
  }
  const used = reachableSchemas(paths, schemas);
  return {
    openapi: parts[0]?.document.openapi ?? '3.0.0',
    ...head,
    paths,
    components: {
      securitySchemes: Object.fromEntries(
        Object.entries(securitySchemes).filter(([name]) => schemes.has(name)),
      ),
      schemas: Object.fromEntries(
        Object.entries(schemas)
          .filter(([name]) => used.has(name))
          .sort(([a], [b]) => a.localeCompare(b)),
      ),
    },
  };
}

function retag(entry: ServiceEntry, item: PathItemObject): PathItemObject {
  const short = shortName(entry);
  const out: PathItemObject = { ...item };
  for (const method of METHODS) {
    const operation = out[method];
    if (!operation) continue;
    out[method] = {
      ...operation,
      operationId: `${short}_${operation.operationId ?? method}`,
      tags: (operation.tags ?? []).map((tag) => `${short}/${tag}`),
    };
  }
  return out;
}

export interface OpenApiDocuments {
  services: { entry: ServiceEntry; document: OpenAPIObject }[];
  publicDocument: OpenAPIObject;
  internalDocument: OpenAPIObject;
}

export async function generateOpenApiDocuments(): Promise<OpenApiDocuments> {
  const services: OpenApiDocuments['services'] = [];
  for (const entry of SERVICES) services.push({ entry, document: await serviceDocument(entry) });
  const routed = services.filter(({ entry }) => entry.prefix);
  const publicDocument = merge(
    routed.map(({ entry, document }) => ({ entry, document, paths: isPublic })),
    {
      info: {
        title: 'SaaS Odoo platform API',
        version: '0.1.0',
        description:
          'Every public route of user-service (/user), tenant-service (/tenant), instance-service (/instance) and ' +
          'billing-service (/billing) as a client of api.<BASE_DOMAIN> sees it: Traefik strips the prefix. ' +
          'Errors always use the ErrorEnvelope schema; each operation lists the `code` values it can return. ' +
          'Generated from the code by `npm run docs:openapi`.',
      },
      servers: [{ url: '/', description: 'The API host, api.<BASE_DOMAIN>' }],
    },
    (entry, path, item) => [`${entry.prefix}${path}`, retag(entry, item)],
  );
  const internalDocument = merge(
    services.map(({ entry, document }) => ({
      entry,
      document,
      paths: (path) => path.startsWith('/internal/'),
    })),
    {
      info: {
        title: 'SaaS Odoo platform internal API',
        version: '0.1.0',
        description:
          'Service-to-service routes (/internal/*): only the service credential x-internal-token is accepted, ' +
          'and Traefik never routes them. Each path names the service that serves it.',
      },
      servers: [
        {
          url: 'http://{service}:5000',
          description: 'A service on the compose network (host mode: <SERVICE>_URL)',
          variables: { service: { default: 'user-service', enum: SERVICES.map((s) => s.service) } },
        },
      ],
    },
    (entry, path, item) => [
      path,
      {
        ...retag(entry, item),
        servers: [{ url: entry.internalUrl, description: `${entry.service} (${entry.urlVariable})` }],
      },
    ],
  );
  return { services, publicDocument, internalDocument };
}

/** Operations, and how many document a 2xx JSON body, a 2xx without a body, and their errors. */
export function coverage(document: OpenAPIObject) {
  const all = operations(document);
  const responses = (op: OperationObject) =>
    Object.entries(op.responses) as [string, { content?: Record<string, { schema?: unknown }> }][];
  return {
    operations: all.length,
    json2xx: all.filter(({ operation }) =>
      responses(operation).some(
        ([status, r]) => /^2/.test(status) && r.content?.['application/json']?.schema,
      ),
    ).length,
    empty2xx: all.filter(({ operation }) =>
      responses(operation).some(([status, r]) => /^2/.test(status) && !r.content),
    ).length,
    errors: all.filter(({ operation }) =>
      responses(operation).some(
        ([status, r]) => /^[45]/.test(status) && r.content?.['application/json']?.schema,
      ),
    ).length,
  };
}

export function serialise(document: OpenAPIObject): string {
  return `${JSON.stringify(document, null, 2)}\n`;
}
