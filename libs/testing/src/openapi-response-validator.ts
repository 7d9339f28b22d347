import Ajv, { ErrorObject, ValidateFunction } from 'ajv';
import addFormats from 'ajv-formats';
import type { OpenAPIObject } from '@nestjs/swagger';

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type JsonObject = { [key: string]: Json };

export interface ObservedResponse {
  statusCode: number;
  headers: Record<string, string | string[] | number | undefined>;
  body: string;
}

const DOCUMENT_ID = 'openapi.json';
/** Keys whose value is a map of schemas, a schema, or a list of schemas. */
const SCHEMA_MAPS = ['properties', 'patternProperties'];
const SCHEMA_VALUES = ['items', 'not', 'additionalProperties'];
const SCHEMA_LISTS = ['allOf', 'anyOf', 'oneOf'];
/** Annotations JSON Schema validation does not need (and Ajv's strict mode would question). */
const DROPPED = new Set(['example', 'examples', 'xml', 'externalDocs', 'discriminator', 'deprecated']);

function isObject(value: Json | undefined): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * OpenAPI 3.0 schema → JSON Schema as Ajv reads it: `nullable` becomes a `null` type, refs point into the
 * document registered under DOCUMENT_ID, and an object that lists its properties allows no others (a field
 * the document does not name is a gap in the document). Members of an allOf stay open: each describes part
 * of the same object.
 */
function toJsonSchema(schema: Json, inAllOf = false): Json {
  if (!isObject(schema)) return schema;
  const out: JsonObject = {};
  for (const [key, value] of Object.entries(schema)) {
    if (DROPPED.has(key) || key === 'nullable') continue;
    if (key === '$ref' && typeof value === 'string' && value.startsWith('#/'))
      out[key] = `${DOCUMENT_ID}${value}`;
    else if (SCHEMA_MAPS.includes(key) && isObject(value))
      out[key] = Object.fromEntries(Object.entries(value).map(([name, s]) => [name, toJsonSchema(s)]));
    else if (SCHEMA_VALUES.includes(key)) out[key] = toJsonSchema(value);
    else if (SCHEMA_LISTS.includes(key) && Array.isArray(value))
      out[key] = value.map((s) => toJsonSchema(s, key === 'allOf'));
    else out[key] = value;
  }
  if (out.properties !== undefined && out.additionalProperties === undefined && !inAllOf) {
    out.additionalProperties = false;
  }
  if (schema.nullable !== true) return out;
  const composed = ['$ref', 'allOf', 'anyOf', 'oneOf'].some((key) => out[key] !== undefined);
  if (typeof out.type === 'string' && !composed) {
    out.type = [out.type, 'null'];
    if (Array.isArray(out.enum) && !out.enum.includes(null)) out.enum = [...out.enum, null];
    return out;
  }
  return { anyOf: [out, { type: 'null' }] };
}

interface Route {
  template: string;
  pattern: RegExp;
  parameters: number;
}

function compileRoute(template: string): Route {
  const parts = template.split(/(\{[^}]+\})/);
  const source = parts
    .map((part) => (/^\{[^}]+\}$/.test(part) ? '[^/]+' : part.replace(/[.*+?^$()|[\]\\]/g, '\\$&')))
    .join('');
  return {
    template,
    pattern: new RegExp(`^${source}$`),
    parameters: parts.filter((p) => p.startsWith('{')).length,
  };
}

function describeErrors(errors: ErrorObject[] | null | undefined): string {
  return (errors ?? [])
    .slice(0, 8)
    .map((e) => {
      const extra = e.keyword === 'additionalProperties' ? ` (${String(e.params.additionalProperty)})` : '';
      const allowed = e.keyword === 'enum' ? ` ${JSON.stringify(e.params.allowedValues)}` : '';
      return `${e.instancePath || '(body)'} ${e.message ?? e.keyword}${extra}${allowed}`;
    })
    .join('; ');
}

function mediaType(header: string | string[] | number | undefined): string | undefined {
  const value = Array.isArray(header) ? header[0] : header;
  return typeof value === 'string' ? value.split(';')[0]?.trim().toLowerCase() : undefined;
}

/**
 * Checks a live response against a service's own OpenAPI document: the status must be documented for the
 * operation, the content type must be one it declares, and a JSON body must match its schema.
 */
export class OpenApiResponseValidator {
  private readonly ajv = new Ajv({ strict: false, allErrors: true, validateSchema: false });
  private readonly document: JsonObject;
  private readonly routes: Route[];
  private readonly compiled = new Map<string, ValidateFunction>();

  constructor(
    document: OpenAPIObject,
    private readonly service: string,
  ) {
    addFormats(this.ajv);
    this.document = JSON.parse(JSON.stringify(document)) as JsonObject;
    const components = isObject(this.document.components) ? this.document.components : {};
    const schemas = isObject(components.schemas) ? components.schemas : {};
    this.ajv.addSchema(
      {
        components: {
          schemas: Object.fromEntries(Object.entries(schemas).map(([name, s]) => [name, toJsonSchema(s)])),
        },
      },
      DOCUMENT_ID,
    );
    const paths = isObject(this.document.paths) ? this.document.paths : {};
    this.routes = Object.keys(paths)
      .map(compileRoute)
      .sort((a, b) => a.parameters - b.parameters);
  }

  /** Throws when the document does not describe this response. */
  check(method: string, url: string, response: ObservedResponse): void {
    // The router ignores a trailing slash (createFastifyAdapter), so the document's paths match both ways.
    const raw = url.split('?')[0] ?? url;
    const path = raw.length > 1 ? raw.replace(/\/+$/, '') : raw;
    // The documents and their UI are served by SwaggerModule (README: Every service has, API reference).
    if (/^(\/reference)?\/docs(\/|$)/.test(path)) return;
    const verb = method.toLowerCase();
    const fail = (problem: string): never => {
      const body = response.body.length > 600 ? `${response.body.slice(0, 600)}…` : response.body;
      throw new Error(
        `${this.service}: ${method.toUpperCase()} ${url} answered ${response.statusCode}, which its OpenAPI ` +
          `document does not describe: ${problem}\n  body: ${body}`,
      );
    };
    const route = this.routes.find((r) => r.pattern.test(path) && this.operation(r.template, verb));
    if (!route) {
      // No such route: the router's 404 in the shared envelope (documented as the schema ErrorEnvelope).
      if (response.statusCode === 404)
        return this.validate('404', this.envelopeSchema(['NOT_FOUND']), response, fail);
      return fail(`no operation ${verb.toUpperCase()} matches ${path}`);
    }
    const operation = this.operation(route.template, verb) ?? {};
    const responses = isObject(operation.responses) ? operation.responses : {};
    const status = String(response.statusCode);
    const documented = responses[status] ?? responses[`${status[0]}XX`] ?? responses.default;
    if (!isObject(documented)) {
      return fail(
        `${verb.toUpperCase()} ${route.template} documents only ${Object.keys(responses).join(', ')}`,
      );
    }
    const content = isObject(documented.content) ? documented.content : undefined;
    if (!content) {
      if (response.body.length > 0) fail(`status ${status} is documented without a body`);
      return;
    }
    const type = mediaType(response.headers['content-type']);
    const media = type ? content[type] : undefined;
    if (!isObject(media)) {
      return fail(`content type ${type ?? '(none)'} is not one of ${Object.keys(content).join(', ')}`);
    }
    if (type !== 'application/json' || media.schema === undefined) return;
    this.validate(`${verb} ${route.template} ${status}`, media.schema, response, fail);
  }

  private operation(template: string, verb: string): JsonObject | undefined {
    const paths = this.document.paths as JsonObject;
    const item = paths[template];
    const operation = isObject(item) ? item[verb] : undefined;
    return isObject(operation) ? operation : undefined;
  }

  private envelopeSchema(codes: string[]): Json {
    return {
      allOf: [
        { $ref: '#/components/schemas/ErrorEnvelope' },
        { type: 'object', properties: { code: { type: 'string', enum: codes } } },
      ],
    };
  }

  private validate(
    key: string,
    schema: Json,
    response: ObservedResponse,
    fail: (problem: string) => never,
  ): void {
    let validate = this.compiled.get(key);
    if (!validate) {
      validate = this.ajv.compile(toJsonSchema(schema) as object);
      this.compiled.set(key, validate);
    }
    let body: unknown;
    try {
      body = JSON.parse(response.body);
    } catch {
      return fail('the body is not JSON');
    }
    if (!validate(body)) fail(describeErrors(validate.errors));
  }
}
