/**
 * KillBillEmulator — a TEST DOUBLE of the Kill Bill 0.24 HTTP API. Kill Bill cannot run on the test machine,
 * so tests point the billing service at this in-process HTTP server instead. The product never imports it.
 *
 * It follows /work/shared/reference/killbill-contract.md for everything the platform uses: auth and tenant
 * headers (§1.1), 201 + Location conventions (§1.2), BillingExceptionJson errors (§1.3), tenant bootstrap,
 * catalog/overdue upload and push-callback registration (§2), push delivery and retries (§2.6), the
 * NotificationJson payload and event mapping (§3), the endpoints of §4 and the test clock (§4.8).
 * What it does not emulate is listed in README.md next to this file.
 */
import http from 'node:http';
import { type AddressInfo } from 'node:net';
import {
  CatalogValidationError,
  catalogToJson,
  overdueConfigToJson,
  overdueStateToJson,
  parseCatalogXml,
  parseOverdueXml,
  templateCatalog,
} from './catalog';
import { addMonthsToLocalDate, parseDateParam, toIso, toLocalDate, ONE_DAY_MS } from './dates';
import {
  badRequest,
  EXCEPTION_CLASS,
  KbApiError,
  KillBillEngine,
  type Account,
  type EmittedEvent,
  type JsonObject,
  type JsonValue,
  type Tenant,
} from './engine';
import {
  ACCOUNT_DETAIL_FIELDS,
  accountJson,
  bundleJson,
  invoiceJson,
  invoicePaymentJson,
  paymentMethodJson,
  subscriptionJson,
  tagDefinitionsJson,
  tagJson,
  tenantJson,
} from './json-views';
import {
  PushDispatcher,
  type PushDelivery,
  type PushDeliveryStatus,
  type PushStats,
} from './push-dispatcher';

export interface KillBillEmulatorOptions {
  /** Basic-auth credentials (Kill Bill's defaults). */
  username?: string;
  password?: string;
  /** Push retry delays in real ms, one per retry. Default [15, 30, 120, 720, 1440]: Kill Bill's 15m,30m,2h,12h,1d at 1 ms per minute. */
  retrySchedule?: number[];
  /** Maximum simultaneous push deliveries. Default 1 (in order). */
  pushConcurrency?: number;
  /** Dispatch queued notifications in random order. */
  shuffle?: boolean;
  /** true: every notification is delivered twice; a number in [0,1]: probability of a duplicate. */
  duplicate?: boolean | number;
  /** Seed for shuffle/duplicate randomness (deterministic runs). */
  seed?: number;
  /** Per-attempt push timeout (Kill Bill: 15 s). */
  pushTimeoutMs?: number;
  /** Send the JDK's `Upgrade: h2c` headers on http:// callbacks, as Kill Bill does. Default true. */
  h2cUpgradeHeaders?: boolean;
  /** 'realtime' (default): the clock ticks like Kill Bill's ClockMock (whole seconds); 'frozen': it only moves when told. */
  clockMode?: 'realtime' | 'frozen';
  /** Initial emulator time (default: now). */
  initialTime?: Date | string | number;
  /** Scale applied to a per-tenant `org.killbill.billing.server.notifications.retries` value. Default 1/60000 (1 minute = 1 ms). */
  perTenantRetryScale?: number;
  /** Location headers as absolute URLs (Kill Bill default) or path only. Default true. */
  locationFullUrl?: boolean;
  /** Kill Bill test mode: enables /1.0/kb/test/*. Default true. */
  testMode?: boolean;
}

export interface RecordedRequest {
  method: string;
  path: string;
  query: string;
  headers: http.IncomingHttpHeaders;
  body: string;
  status: number;
}

export interface KillBillEmulatorStats extends PushStats {
  events: number;
  requests: number;
}

interface Reply {
  status: number;
  headers?: Record<string, string>;
  body?: string;
}

interface RequestContext {
  method: string;
  path: string;
  query: URLSearchParams;
  params: string[];
  headers: http.IncomingHttpHeaders;
  body: string;
  now: number;
  baseUrl: string;
}

type PublicHandler = (ctx: RequestContext) => Reply;
type TenantHandler = (ctx: RequestContext, tenant: Tenant) => Reply;

interface Route {
  method: string;
  pattern: RegExp;
  /** Needs X-Killbill-CreatedBy (every POST/PUT/DELETE except the test clock and dry validations). */
  createdBy: boolean;
  kind: 'public' | 'basic' | 'tenant';
  handler: PublicHandler | TenantHandler;
}

const UUID = '([0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12})';
const KB = '/1.0/kb';
const TENANT_HEADERS_MESSAGE = 'Make sure to set the X-Killbill-ApiKey and X-Killbill-ApiSecret headers';
const DEFAULT_RETRY_SCHEDULE = [15, 30, 120, 720, 1440];
const TIME_SPAN_UNITS: Record<string, number> = {
  ms: 1,
  s: 1000,
  sec: 1000,
  m: 60_000,
  min: 60_000,
  h: 3_600_000,
  hr: 3_600_000,
  d: ONE_DAY_MS,
  day: ONE_DAY_MS,
  days: ONE_DAY_MS,
  w: 7 * ONE_DAY_MS,
};

function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const json = (status: number, value: JsonValue): Reply => ({
  status,
  headers: { 'Content-Type': 'application/json' },
  body: JSON.stringify(value),
});
const noContent = (): Reply => ({ status: 204 });
const xml = (body: string): Reply => ({ status: 200, headers: { 'Content-Type': 'text/xml' }, body });

function htmlError(status: number, message: string): Reply {
  return {
    status,
    headers: { 'Content-Type': 'text/html;charset=iso-8859-1' },
    body:
      '<html>\n<head>\n<meta http-equiv="Content-Type" content="text/html;charset=ISO-8859-1"/>\n' +
      `<title>Error ${status} ${message}</title>\n</head>\n<body><h2>HTTP ERROR ${status} ${message}</h2>\n</body>\n</html>\n`,
  };
}

function errorReply(error: KbApiError, withStackTrace: boolean): Reply {
  return json(error.status, {
    className: error.className,
    code: error.code,
    message: error.message,
    causeClassName: null,
    causeMessage: null,
    stackTrace: withStackTrace
      ? [
          {
            className: 'org.killbill.billing.emulator.KillBillEmulator',
            fileName: 'killbill-emulator.ts',
            lineNumber: 0,
            methodName: 'handle',
            nativeMethod: false,
          },
        ]
      : [],
  });
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function optionalString(body: Record<string, unknown>, key: string): string | undefined {
  const value = body[key];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string') throw badRequest(`${key} should be a string`);
  return value;
}

function optionalNumber(body: Record<string, unknown>, key: string): number | undefined {
  const value = body[key];
  if (value === undefined || value === null) return undefined;
  const n = typeof value === 'string' ? Number(value) : value;
  if (typeof n !== 'number' || Number.isNaN(n)) throw badRequest(`${key} should be a number`);
  return n;
}

function toJsonValue(value: unknown): JsonValue {
  if (value === null || typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean')
    return value;
  if (Array.isArray(value)) return value.map(toJsonValue);
  if (isObject(value)) {
    const result: JsonObject = {};
    for (const [k, v] of Object.entries(value)) result[k] = toJsonValue(v);
    return result;
  }
  return null;
}

function boolParam(query: URLSearchParams, name: string, fallback = false): boolean {
  const value = query.get(name);
  return value === null ? fallback : value.toLowerCase() === 'true';
}

function dateParam(query: URLSearchParams, name: string): number | null {
  const value = query.get(name);
  if (value === null || value === '') return null;
  const parsed = parseDateParam(value);
  if (parsed === null) throw badRequest(`Invalid date '${value}' for ${name}`);
  return parsed;
}

function enumParam(query: URLSearchParams, name: string, allowed: string[]): string | null {
  const value = query.get(name);
  if (value === null || value === '') return null;
  if (!allowed.includes(value))
    throw badRequest(`Invalid ${name} '${value}', expected one of ${allowed.join(', ')}`);
  return value;
}

class EmulatorClock {
  private delta = 0;
  private frozenAt: number;

  constructor(
    private readonly mode: 'realtime' | 'frozen',
    initial?: number,
  ) {
    this.frozenAt = initial ?? Date.now();
    if (initial !== undefined) this.delta = initial - Date.now();
  }

  now(): number {
    if (this.mode === 'frozen') return this.frozenAt;
    return Math.floor((Date.now() + this.delta) / 1000) * 1000;
  }

  set(ms: number): void {
    if (this.mode === 'frozen') this.frozenAt = ms;
    else this.delta = ms - Date.now();
  }

  reset(): void {
    this.delta = 0;
    this.frozenAt = Date.now();
  }
}

export class KillBillEmulator {
  /** The in-memory state, for white-box assertions in tests. */
  readonly engine: KillBillEngine;
  private readonly options: Required<Omit<KillBillEmulatorOptions, 'seed' | 'initialTime'>>;
  private readonly clock: EmulatorClock;
  private readonly dispatcher: PushDispatcher;
  private readonly routes: Route[] = [];
  private readonly requests: RecordedRequest[] = [];
  private server: http.Server | null = null;
  private ticker: NodeJS.Timeout | null = null;
  private healthy = true;
  private baseUrl = '';

  constructor(opts: KillBillEmulatorOptions = {}) {
    this.options = {
      username: opts.username ?? 'admin',
      password: opts.password ?? 'password',
      retrySchedule: opts.retrySchedule ?? DEFAULT_RETRY_SCHEDULE,
      pushConcurrency: Math.max(1, opts.pushConcurrency ?? 1),
      shuffle: opts.shuffle ?? false,
      duplicate: opts.duplicate ?? false,
      pushTimeoutMs: opts.pushTimeoutMs ?? 15_000,
      h2cUpgradeHeaders: opts.h2cUpgradeHeaders ?? true,
      clockMode: opts.clockMode ?? 'realtime',
      perTenantRetryScale: opts.perTenantRetryScale ?? 1 / 60_000,
      locationFullUrl: opts.locationFullUrl ?? true,
      testMode: opts.testMode ?? true,
    };
    const initial = opts.initialTime === undefined ? undefined : new Date(opts.initialTime).getTime();
    if (initial !== undefined && Number.isNaN(initial))
      throw new Error(`Invalid initialTime ${String(opts.initialTime)}`);
    this.clock = new EmulatorClock(this.options.clockMode, initial);
    this.dispatcher = new PushDispatcher({
      retrySchedule: this.options.retrySchedule,
      concurrency: this.options.pushConcurrency,
      shuffle: this.options.shuffle,
      duplicate: this.options.duplicate,
      timeoutMs: this.options.pushTimeoutMs,
      h2cUpgradeHeaders: this.options.h2cUpgradeHeaders,
      random: opts.seed === undefined ? Math.random : mulberry32(opts.seed),
    });
    this.engine = new KillBillEngine((event, tenant) => this.onEvent(event, tenant));
    this.engine.setNow(this.clock.now());
    this.registerRoutes();
  }

  // ------------------------------------------------------------------------------------------ lifecycle

  async start(port = 0, host = '127.0.0.1'): Promise<{ url: string }> {
    if (this.server) return { url: this.baseUrl };
    const server = http.createServer((req, res) => this.onRequest(req, res));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    this.server = server;
    const address = server.address() as AddressInfo;
    const shownHost = address.family === 'IPv6' ? `[${address.address}]` : address.address;
    this.baseUrl = `http://${shownHost}:${address.port}`;
    if (this.options.clockMode === 'realtime') {
      this.ticker = setInterval(() => this.engine.processDue(this.clock.now()), 1000);
      this.ticker.unref();
    }
    return { url: this.baseUrl };
  }

  async stop(): Promise<void> {
    if (this.ticker) clearInterval(this.ticker);
    this.ticker = null;
    this.dispatcher.stop();
    const server = this.server;
    this.server = null;
    if (!server) return;
    await new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
  }

  get url(): string {
    return this.baseUrl;
  }

  // ------------------------------------------------------------------------------------------ clock controls

  now(): Date {
    return new Date(this.clock.now());
  }

  /** Sets the clock (like POST /1.0/kb/test/clock) and processes everything that became due. */
  setClock(date: Date | string | number): Date {
    const ms = new Date(date).getTime();
    if (Number.isNaN(ms)) throw new Error(`Invalid date ${String(date)}`);
    this.clock.set(ms);
    this.engine.processDue(this.clock.now());
    return this.now();
  }

  /** Moves the clock forward by `days` (like PUT /1.0/kb/test/clock?days=N). */
  advance(days: number): Date {
    return this.advanceBy({ days });
  }

  advanceBy(period: { days?: number; weeks?: number; months?: number; years?: number; ms?: number }): Date {
    let target = this.clock.now();
    target += (period.days ?? 0) * ONE_DAY_MS + (period.weeks ?? 0) * 7 * ONE_DAY_MS + (period.ms ?? 0);
    const months = (period.months ?? 0) + (period.years ?? 0) * 12;
    if (months !== 0) {
      const timeOfDay = target - Date.parse(`${toLocalDate(target)}T00:00:00.000Z`);
      target = Date.parse(`${addMonthsToLocalDate(toLocalDate(target), months)}T00:00:00.000Z`) + timeOfDay;
    }
    return this.setClock(target);
  }

  resetClock(): Date {
    this.clock.reset();
    this.engine.processDue(this.clock.now());
    return this.now();
  }

  // ------------------------------------------------------------------------------------------ push controls

  /** Every push delivery (one per notification, plus duplicates), with its attempts and status codes. */
  deliveries(
    filter: { tenantId?: string; eventType?: string; status?: PushDeliveryStatus } = {},
  ): PushDelivery[] {
    return this.dispatcher
      .list()
      .filter(
        (d) =>
          (!filter.tenantId || d.tenantId === filter.tenantId) &&
          (!filter.eventType || d.payload.eventType === filter.eventType) &&
          (!filter.status || d.status === filter.status),
      );
  }

  /** Every external bus event produced, whether or not a callback was registered to receive it. */
  events(filter: { tenantId?: string; eventType?: string } = {}): EmittedEvent[] {
    return this.engine.events.filter(
      (e) =>
        (!filter.tenantId || e.tenantId === filter.tenantId) &&
        (!filter.eventType || e.payload.eventType === filter.eventType),
    );
  }

  /** Resolves when no delivery is queued or in flight (scheduled retries count as idle unless includeRetries). */
  waitForIdle(options: { timeoutMs?: number; includeRetries?: boolean } = {}): Promise<void> {
    return this.dispatcher.waitForIdle(options);
  }

  pausePushDelivery(): void {
    this.dispatcher.pause();
  }

  resumePushDelivery(): void {
    this.dispatcher.resume();
  }

  /** Fires every scheduled push retry now. */
  retryPushNow(): void {
    this.dispatcher.retryNow();
  }

  /** Forgets finished deliveries, recorded events and requests (state and pending work are kept). */
  clearLogs(): void {
    this.dispatcher.clearLog();
    this.engine.events.length = 0;
    this.requests.length = 0;
  }

  stats(): KillBillEmulatorStats {
    return { ...this.dispatcher.stats(), events: this.engine.events.length, requests: this.requests.length };
  }

  /** Every HTTP request received (method, path, query, headers, body, status). */
  requestLog(): RecordedRequest[] {
    return [...this.requests];
  }

  /** Makes GET /1.0/healthcheck answer 500 (unhealthy) or 200. */
  setHealthy(healthy: boolean): void {
    this.healthy = healthy;
  }

  // ------------------------------------------------------------------------------------------ push plumbing

  private onEvent(event: EmittedEvent, tenant: Tenant): void {
    const callback = tenant.kv.get('PUSH_NOTIFICATION_CB')?.values[0];
    if (!callback) return;
    this.dispatcher.enqueue(tenant.id, callback, event.payload, this.retryScheduleFor(tenant));
  }

  private retryScheduleFor(tenant: Tenant): number[] | undefined {
    const raw = tenant.kv.get('PER_TENANT_CONFIG')?.values[0];
    if (!raw) return undefined;
    let config: unknown;
    try {
      config = JSON.parse(raw);
    } catch {
      return undefined;
    }
    const value = isObject(config) ? config['org.killbill.billing.server.notifications.retries'] : undefined;
    if (typeof value !== 'string') return undefined;
    const spans = value.split(',').map((part) => /^\s*(\d+)\s*([a-z]+)\s*$/i.exec(part));
    if (spans.some((m) => !m || TIME_SPAN_UNITS[m[2].toLowerCase()] === undefined)) return undefined;
    return spans.map((m) =>
      m ? Number(m[1]) * TIME_SPAN_UNITS[m[2].toLowerCase()] * this.options.perTenantRetryScale : 0,
    );
  }

  // ------------------------------------------------------------------------------------------ HTTP plumbing

  private onRequest(req: http.IncomingMessage, res: http.ServerResponse): void {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      let reply: Reply;
      try {
        reply = this.handle(req, body);
      } catch (error) {
        if (error instanceof KbApiError) {
          const url = new URL(req.url ?? '/', 'http://localhost');
          reply = errorReply(error, boolParam(url.searchParams, 'withStackTrace'));
        } else {
          const message = error instanceof Error ? error.message : String(error);
          reply = errorReply(new KbApiError(500, 'java.lang.RuntimeException', null, message), false);
        }
      }
      const url = new URL(req.url ?? '/', 'http://localhost');
      this.requests.push({
        method: req.method ?? 'GET',
        path: url.pathname,
        query: url.search,
        headers: req.headers,
        body,
        status: reply.status,
      });
      res.writeHead(reply.status, reply.headers ?? {});
      res.end(reply.body ?? '');
    });
  }

  private requestBase(req: http.IncomingMessage): string {
    if (!this.options.locationFullUrl) return '';
    const header = (name: string): string | undefined => {
      const value = req.headers[name];
      return Array.isArray(value) ? value[0] : value;
    };
    const proto = header('x-forwarded-proto')?.split(',')[0].trim() ?? 'http';
    const host =
      header('x-forwarded-host')?.split(',')[0].trim() ??
      header('host') ??
      this.baseUrl.replace(/^https?:\/\//, '');
    return `${proto}://${host}`;
  }

  private handle(req: http.IncomingMessage, body: string): Reply {
    const method = (req.method ?? 'GET').toUpperCase();
    const url = new URL(req.url ?? '/', 'http://localhost');
    const path = url.pathname;

    const now = this.clock.now();
    this.engine.processDue(now);

    const matching = this.routes.filter((r) => r.pattern.test(path));
    const route = matching.find((r) => r.method === method);

    if (path.startsWith(`${KB}/`) || path === KB) {
      if (!this.checkBasicAuth(req)) {
        return { status: 401, headers: { 'WWW-Authenticate': 'BASIC realm="application"' } };
      }
    }
    if (!route)
      return htmlError(
        matching.length > 0 ? 405 : 404,
        matching.length > 0 ? 'Method Not Allowed' : 'Not Found',
      );

    let tenant: Tenant | null = null;
    if (route.kind === 'tenant') {
      tenant = this.resolveTenant(req);
      if (!tenant) return htmlError(401, TENANT_HEADERS_MESSAGE);
    }

    if (route.createdBy && !this.createdBy(req)) {
      throw new KbApiError(
        400,
        EXCEPTION_CLASS.illegalArgument,
        null,
        'Header X-Killbill-CreatedBy needs to be set',
      );
    }

    const match = route.pattern.exec(path);
    const ctx: RequestContext = {
      method,
      path,
      query: url.searchParams,
      params: match ? match.slice(1) : [],
      headers: req.headers,
      body,
      now,
      baseUrl: this.requestBase(req),
    };
    if (route.kind === 'tenant' && tenant) return (route.handler as TenantHandler)(ctx, tenant);
    return (route.handler as PublicHandler)(ctx);
  }

  private checkBasicAuth(req: http.IncomingMessage): boolean {
    const header = req.headers.authorization;
    if (!header || !/^basic\s+/i.test(header)) return false;
    const decoded = Buffer.from(header.replace(/^basic\s+/i, ''), 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    return (
      colon >= 0 &&
      decoded.slice(0, colon) === this.options.username &&
      decoded.slice(colon + 1) === this.options.password
    );
  }

  private resolveTenant(req: http.IncomingMessage): Tenant | null {
    const apiKey = req.headers['x-killbill-apikey'];
    const apiSecret = req.headers['x-killbill-apisecret'];
    if (typeof apiKey !== 'string' || typeof apiSecret !== 'string') return null;
    return (
      [...this.engine.tenants.values()].find((t) => t.apiKey === apiKey && t.apiSecret === apiSecret) ?? null
    );
  }

  private createdBy(req: http.IncomingMessage): string | null {
    const raw = req.headers['x-killbill-createdby'];
    if (typeof raw !== 'string' || raw === '') return null;
    if (req.headers['x-killbill-encoding'] === 'base64') return Buffer.from(raw, 'base64').toString('utf8');
    return raw;
  }

  private route(
    method: string,
    path: string,
    kind: Route['kind'],
    handler: PublicHandler | TenantHandler,
    createdBy?: boolean,
  ): void {
    const pattern = new RegExp(`^${path}$`);
    this.routes.push({
      method,
      pattern,
      kind,
      handler,
      createdBy: createdBy ?? (method !== 'GET' && kind !== 'public'),
    });
  }

  private publicRoute(
    method: string,
    path: string,
    kind: 'public' | 'basic',
    handler: PublicHandler,
    createdBy?: boolean,
  ): void {
    this.route(method, path, kind, handler, createdBy);
  }

  private tenantRoute(method: string, path: string, handler: TenantHandler, createdBy?: boolean): void {
    this.route(method, `${KB}${path}`, 'tenant', handler, createdBy);
  }

  private created(ctx: RequestContext, location: string): Reply {
    return { status: 201, headers: { Location: `${ctx.baseUrl}${location}` } };
  }

  private jsonBody(ctx: RequestContext): unknown {
    if (ctx.body.trim() === '') return null;
    try {
      return JSON.parse(ctx.body) as unknown;
    } catch (error) {
      throw new KbApiError(
        400,
        'com.fasterxml.jackson.core.JsonParseException',
        null,
        error instanceof Error ? error.message : 'Invalid JSON',
      );
    }
  }

  private objectBody(ctx: RequestContext, message: string): Record<string, unknown> {
    const body = this.jsonBody(ctx);
    if (!isObject(body)) throw badRequest(message);
    return body;
  }

  // ------------------------------------------------------------------------------------------ routes

  private registerRoutes(): void {
    this.publicRoute('GET', '/1\\.0/healthcheck', 'public', () => {
      const check = {
        healthy: this.healthy,
        message: this.healthy ? 'OK' : 'Unhealthy (KillBillEmulator.setHealthy)',
      };
      return json(this.healthy ? 200 : 500, { main: check, queues: check });
    });
    this.registerTenantRoutes();
    this.registerCatalogRoutes();
    this.registerAccountRoutes();
    this.registerSubscriptionRoutes();
    this.registerInvoiceRoutes();
    this.registerTestRoutes();
  }

  private registerTenantRoutes(): void {
    this.publicRoute(
      'POST',
      `${KB}/tenants`,
      'basic',
      (ctx) => {
        const body = this.objectBody(ctx, 'TenantJson body should be specified');
        const apiKey = optionalString(body, 'apiKey');
        const apiSecret = optionalString(body, 'apiSecret');
        if (!apiKey) throw badRequest('TenantJson apiKey needs to be set');
        if (!apiSecret) throw badRequest('TenantJson apiSecret needs to be set');
        const useGlobalDefault = boolParam(ctx.query, 'useGlobalDefault');
        const template = useGlobalDefault ? null : templateCatalog(ctx.now);
        const tenant = this.engine.createTenant(
          apiKey,
          apiSecret,
          optionalString(body, 'externalKey') ?? null,
          template,
        );
        if (template) this.engine.setTenantKv(tenant, 'CATALOG', template.xml, true);
        return this.created(ctx, `${KB}/tenants/${tenant.id}`);
      },
      true,
    );
    this.publicRoute('GET', `${KB}/tenants`, 'basic', (ctx) => {
      const apiKey = ctx.query.get('apiKey');
      const tenant = [...this.engine.tenants.values()].find((t) => t.apiKey === apiKey);
      if (!tenant) {
        throw new KbApiError(
          500,
          EXCEPTION_CLASS.illegalState,
          null,
          `TenantCacheLoader cannot find value for key ${apiKey ?? 'null'}`,
        );
      }
      return json(200, tenantJson(tenant));
    });
    this.tenantRoute('GET', `/tenants/${UUID}`, (ctx) => {
      const tenant = this.engine.tenants.get(ctx.params[0]);
      if (!tenant)
        throw new KbApiError(
          404,
          EXCEPTION_CLASS.tenant,
          20001,
          `Tenant does not exist for id ${ctx.params[0]}`,
        );
      return json(200, tenantJson(tenant));
    });

    const kvRoutes = (
      path: string,
      keyOf: (ctx: RequestContext) => string,
      validate?: (body: string) => void,
    ): void => {
      this.tenantRoute('POST', path, (ctx, tenant) => {
        validate?.(ctx.body);
        this.engine.setTenantKv(tenant, keyOf(ctx), ctx.body);
        return this.created(ctx, ctx.path);
      });
      this.tenantRoute('GET', path, (ctx, tenant) =>
        json(200, { key: keyOf(ctx), values: tenant.kv.get(keyOf(ctx))?.values ?? [] }),
      );
      this.tenantRoute('DELETE', path, (ctx, tenant) => {
        this.engine.deleteTenantKv(tenant, keyOf(ctx));
        return noContent();
      });
    };
    this.tenantRoute('POST', '/tenants/registerNotificationCallback', (ctx, tenant) => {
      const cb = ctx.query.get('cb');
      if (!cb) throw badRequest('Notification callback cb should be specified');
      this.engine.setTenantKv(tenant, 'PUSH_NOTIFICATION_CB', cb);
      return this.created(ctx, `${KB}/tenants/registerNotificationCallback`);
    });
    this.tenantRoute('GET', '/tenants/registerNotificationCallback', (_ctx, tenant) =>
      json(200, { key: 'PUSH_NOTIFICATION_CB', values: tenant.kv.get('PUSH_NOTIFICATION_CB')?.values ?? [] }),
    );
    this.tenantRoute('DELETE', '/tenants/registerNotificationCallback', (_ctx, tenant) => {
      this.engine.deleteTenantKv(tenant, 'PUSH_NOTIFICATION_CB');
      return noContent();
    });
    kvRoutes(
      '/tenants/uploadPerTenantConfig',
      () => 'PER_TENANT_CONFIG',
      (body) => {
        let parsed: unknown;
        try {
          parsed = JSON.parse(body);
        } catch {
          parsed = null;
        }
        if (!isObject(parsed))
          throw badRequest('Per-tenant config should be a JSON object of property -> value');
      },
    );
    kvRoutes(
      '/tenants/uploadPluginConfig/([^/]+)',
      (ctx) => `PLUGIN_CONFIG_${decodeURIComponent(ctx.params[0])}`,
    );
    kvRoutes('/tenants/userKeyValue/([^/]+)', (ctx) => decodeURIComponent(ctx.params[0]));
  }

  private registerCatalogRoutes(): void {
    const catalogXmlReply = (ctx: RequestContext, tenant: Tenant): Reply => {
      const requested = dateParam(ctx.query, 'requestedDate');
      const versions = this.engine.activeCatalogs(tenant);
      const selected =
        requested === null ? versions : [this.engine.catalogAt(tenant, requested)].filter((v) => v !== null);
      const inner = selected.map((v) => {
        const start = v.xml.search(/<catalog[\s>]/);
        const open = v.xml.indexOf('>', start);
        const close = v.xml.lastIndexOf('</catalog>');
        return `<version>${open >= 0 && close > open ? v.xml.slice(open + 1, close) : ''}</version>`;
      });
      return xml(
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n' +
          `<catalogs><versions>${inner.join('')}</versions><catalogName>${selected[0]?.name ?? ''}</catalogName></catalogs>\n`,
      );
    };
    this.tenantRoute('POST', '/catalog/xml', (ctx, tenant) => {
      let version;
      try {
        version = parseCatalogXml(ctx.body);
      } catch (error) {
        const detail = error instanceof CatalogValidationError ? error.message : String(error);
        throw new KbApiError(
          400,
          EXCEPTION_CLASS.catalog,
          2080,
          `Invalid catalog for tenant : ${tenant.id} (${detail})`,
        );
      }
      const existing = tenant.catalogs.filter((c) => !c.isTemplate);
      if (existing.some((c) => c.effectiveDate === version.effectiveDate)) {
        throw new KbApiError(
          400,
          EXCEPTION_CLASS.catalog,
          2080,
          `Invalid catalog for tenant : ${tenant.id} (Catalog effective date '${toIso(version.effectiveDate)}' already exists for a previous version)`,
        );
      }
      if (existing.length > 0 && existing[0].name !== version.name) {
        throw new KbApiError(
          400,
          EXCEPTION_CLASS.catalog,
          2080,
          `Invalid catalog for tenant : ${tenant.id} (Catalog name '${version.name}' should match '${existing[0].name}')`,
        );
      }
      tenant.catalogs = [...tenant.catalogs, version].sort((a, b) => a.effectiveDate - b.effectiveDate);
      this.engine.setTenantKv(tenant, 'CATALOG', ctx.body, true);
      return this.created(ctx, `${KB}/catalog`);
    });
    this.tenantRoute(
      'POST',
      '/catalog/xml/validate',
      (ctx) => {
        try {
          parseCatalogXml(ctx.body);
          return json(200, { catalogValidationErrors: [] });
        } catch (error) {
          const errors = error instanceof CatalogValidationError ? error.errors : [String(error)];
          return json(200, {
            catalogValidationErrors: errors.map((errorDescription) => ({ errorDescription })),
          });
        }
      },
      false,
    );
    this.tenantRoute('GET', '/catalog/xml', catalogXmlReply);
    this.tenantRoute('GET', '/catalog', (ctx, tenant) => {
      const accept = String(ctx.headers.accept ?? '');
      if (/xml/i.test(accept) && !/json/i.test(accept)) return catalogXmlReply(ctx, tenant);
      const requested = dateParam(ctx.query, 'requestedDate');
      const versions =
        requested === null
          ? this.engine.activeCatalogs(tenant)
          : [this.engine.catalogAt(tenant, requested)].filter((v) => v !== null);
      return json(
        200,
        versions.map((v) => toJsonValue(catalogToJson(v))),
      );
    });
    this.tenantRoute('GET', '/catalog/versions', (_ctx, tenant) =>
      json(
        200,
        this.engine.activeCatalogs(tenant).map((v) => toIso(v.effectiveDate)),
      ),
    );
    this.tenantRoute('DELETE', '/catalog', (ctx, tenant) => {
      this.engine.deleteTenantKv(tenant, 'CATALOG');
      const template = templateCatalog(ctx.now);
      tenant.catalogs = [template];
      this.engine.setTenantKv(tenant, 'CATALOG', template.xml, true);
      return noContent();
    });

    this.tenantRoute('POST', '/overdue/xml', (ctx, tenant) => {
      let config;
      try {
        config = parseOverdueXml(ctx.body);
      } catch (error) {
        const detail = error instanceof Error ? error.message : String(error);
        throw new KbApiError(
          400,
          'org.killbill.billing.overdue.api.OverdueApiException',
          5010,
          `Invalid overdue config for tenant : ${tenant.id} (${detail})`,
        );
      }
      this.engine.setOverdueConfig(tenant, config, ctx.now);
      return this.created(ctx, `${KB}/overdue`);
    });
    this.tenantRoute('GET', '/overdue/xml', (_ctx, tenant) =>
      xml(
        tenant.overdue?.xml ??
          '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<overdueConfig><accountOverdueStates/></overdueConfig>\n',
      ),
    );
    this.tenantRoute('GET', '/overdue', (_ctx, tenant) =>
      json(200, toJsonValue(overdueConfigToJson(tenant.overdue))),
    );
  }

  private registerAccountRoutes(): void {
    const account = (ctx: RequestContext, tenant: Tenant): Account =>
      this.engine.getAccount(tenant, ctx.params[0]);
    const details = (body: Record<string, unknown>): JsonObject => {
      const result: JsonObject = {};
      for (const field of [...ACCOUNT_DETAIL_FIELDS, 'referenceTime']) {
        if (body[field] !== undefined) result[field] = toJsonValue(body[field]);
      }
      return result;
    };

    this.tenantRoute('POST', '/accounts', (ctx, tenant) => {
      const body = this.objectBody(ctx, 'AccountJson body should be specified');
      const created = this.engine.createAccount(
        tenant,
        optionalString(body, 'externalKey') ?? null,
        optionalString(body, 'currency') ?? null,
        optionalNumber(body, 'billCycleDayLocal') ?? 0,
        details(body),
        ctx.now,
      );
      return this.created(ctx, `${KB}/accounts/${created.id}`);
    });
    const accountReply = (ctx: RequestContext, found: Account): Reply =>
      json(
        200,
        accountJson(
          this.engine,
          found,
          boolParam(ctx.query, 'accountWithBalance'),
          boolParam(ctx.query, 'accountWithBalanceAndCBA'),
        ),
      );
    this.tenantRoute('GET', '/accounts', (ctx, tenant) => {
      const externalKey = ctx.query.get('externalKey');
      if (externalKey === null)
        throw new KbApiError(
          404,
          EXCEPTION_CLASS.account,
          3004,
          'An attempt was made to get the id for a <null> external key.',
        );
      return accountReply(ctx, this.engine.getAccountByKey(tenant, externalKey));
    });
    this.tenantRoute('GET', `/accounts/${UUID}`, (ctx, tenant) => accountReply(ctx, account(ctx, tenant)));
    this.tenantRoute('PUT', `/accounts/${UUID}`, (ctx, tenant) => {
      const found = account(ctx, tenant);
      const body = this.objectBody(ctx, 'AccountJson body should be specified');
      const externalKey = optionalString(body, 'externalKey');
      if (externalKey !== undefined && externalKey !== found.externalKey) {
        throw new KbApiError(
          400,
          EXCEPTION_CLASS.account,
          3005,
          `External keys cannot be updated. Original key remains: ${found.externalKey}`,
        );
      }
      this.engine.updateAccount(
        found,
        optionalString(body, 'currency') ?? null,
        optionalNumber(body, 'billCycleDayLocal') ?? null,
        details(body),
        ctx.now,
      );
      return noContent();
    });
    this.tenantRoute('GET', `/accounts/${UUID}/bundles`, (ctx, tenant) => {
      const found = account(ctx, tenant);
      const externalKey = ctx.query.get('externalKey');
      const filter = ctx.query.get('bundlesFilter')?.split(',').filter(Boolean) ?? [];
      const bundles = this.engine
        .bundlesOf(found)
        .filter((b) => externalKey === null || b.externalKey === externalKey)
        .filter((b) => filter.length === 0 || filter.includes(b.id));
      return json(
        200,
        bundles.map((b) => bundleJson(this.engine, b)),
      );
    });
    this.tenantRoute('GET', `/accounts/${UUID}/invoices`, (ctx, tenant) => {
      const found = account(ctx, tenant);
      const unpaidOnly = boolParam(ctx.query, 'unpaidInvoicesOnly');
      const withComponents = boolParam(ctx.query, 'includeInvoiceComponents');
      if (unpaidOnly && withComponents) {
        throw new KbApiError(
          500,
          EXCEPTION_CLASS.illegalState,
          null,
          "We don't support fetching unpaid invoices with invoice components",
        );
      }
      const start = ctx.query.get('startDate');
      const end = ctx.query.get('endDate');
      const filter = ctx.query.get('invoicesFilter')?.split(',').filter(Boolean) ?? [];
      const invoices = (unpaidOnly ? this.engine.unpaidInvoices(found) : this.engine.invoicesOf(found))
        .filter((i) => !start || i.targetDate >= start.slice(0, 10))
        .filter((i) => !end || i.targetDate <= end.slice(0, 10))
        .filter((i) => filter.length === 0 || filter.includes(i.id))
        .sort((a, b) => a.invoiceNumber - b.invoiceNumber);
      return json(
        200,
        invoices.map((i) => invoiceJson(this.engine, i, withComponents || unpaidOnly)),
      );
    });
    this.tenantRoute('GET', `/accounts/${UUID}/overdue`, (ctx, tenant) =>
      json(200, toJsonValue(overdueStateToJson(account(ctx, tenant).overdueState))),
    );

    const tagIds = (ctx: RequestContext): string[] => {
      const body = this.jsonBody(ctx);
      if (!Array.isArray(body) || body.some((id) => typeof id !== 'string')) {
        throw badRequest('Body should be a JSON array of tag definition ids');
      }
      return body as string[];
    };
    const tagRoutes = (
      prefix: string,
      objectType: 'ACCOUNT' | 'INVOICE',
      check: (ctx: RequestContext, tenant: Tenant) => string,
    ): void => {
      this.tenantRoute('POST', `${prefix}/tags`, (ctx, tenant) => {
        const objectId = check(ctx, tenant);
        this.engine.addTags(tenant, objectType, objectId, tagIds(ctx), ctx.now);
        return this.created(ctx, `${KB}${prefix.replace(UUID, objectId)}/tags`);
      });
      this.tenantRoute('GET', `${prefix}/tags`, (ctx, tenant) => {
        const objectId = check(ctx, tenant);
        return json(200, [...this.engine.tags.values()].filter((t) => t.objectId === objectId).map(tagJson));
      });
      this.tenantRoute('DELETE', `${prefix}/tags`, (ctx, tenant) => {
        const objectId = check(ctx, tenant);
        const ids = ctx.query
          .getAll('tagDef')
          .flatMap((v) => v.split(','))
          .filter(Boolean);
        this.engine.removeTags(tenant, objectId, ids, ctx.now);
        return noContent();
      });
    };
    tagRoutes(`/accounts/${UUID}`, 'ACCOUNT', (ctx, tenant) => account(ctx, tenant).id);
    tagRoutes(
      `/invoices/${UUID}`,
      'INVOICE',
      (ctx, tenant) => this.engine.getInvoice(tenant, ctx.params[0]).id,
    );
    this.tenantRoute('GET', '/tagDefinitions', () => json(200, tagDefinitionsJson()));

    this.tenantRoute('POST', `/accounts/${UUID}/paymentMethods`, (ctx, tenant) => {
      const found = account(ctx, tenant);
      const body = this.objectBody(ctx, 'PaymentMethodJson body should be specified');
      const pluginName = optionalString(body, 'pluginName');
      if (!pluginName) throw badRequest('PaymentMethodJson pluginName should be specified');
      if (pluginName !== '__EXTERNAL_PAYMENT__') {
        throw new KbApiError(
          400,
          EXCEPTION_CLASS.payment,
          7028,
          `Payment plugin ${pluginName} is not registered`,
        );
      }
      const pm = this.engine.addPaymentMethod(
        found,
        pluginName,
        optionalString(body, 'externalKey') ?? null,
        toJsonValue(body.pluginInfo ?? null),
        boolParam(ctx.query, 'isDefault'),
        ctx.now,
      );
      if (boolParam(ctx.query, 'payAllUnpaidInvoices') && boolParam(ctx.query, 'isDefault')) {
        this.engine.payAllInvoices(found, null, true, ctx.now);
      }
      return this.created(ctx, `${KB}/paymentMethods/${pm.id}`);
    });
    this.tenantRoute('GET', `/accounts/${UUID}/paymentMethods`, (ctx, tenant) => {
      const found = account(ctx, tenant);
      return json(
        200,
        [...this.engine.paymentMethods.values()]
          .filter((pm) => pm.accountId === found.id)
          .map((pm) => paymentMethodJson(pm, found)),
      );
    });
    this.tenantRoute('GET', `/paymentMethods/${UUID}`, (ctx, tenant) => {
      const pm = this.engine.paymentMethods.get(ctx.params[0]);
      const owner = pm ? this.engine.accounts.get(pm.accountId) : undefined;
      if (!pm || !owner || pm.tenantId !== tenant.id) {
        throw new KbApiError(
          404,
          EXCEPTION_CLASS.payment,
          7000,
          `Payment method ${ctx.params[0]} does not exist`,
        );
      }
      return json(200, paymentMethodJson(pm, owner));
    });
    this.tenantRoute('POST', `/accounts/${UUID}/invoicePayments`, (ctx, tenant) => {
      const found = account(ctx, tenant);
      const amountParam = ctx.query.get('paymentAmount');
      const amount = amountParam === null ? null : Number(amountParam);
      if (amount !== null && Number.isNaN(amount))
        throw badRequest(`Invalid paymentAmount ${amountParam ?? ''}`);
      const paid = this.engine.payAllInvoices(
        found,
        amount,
        boolParam(ctx.query, 'externalPayment'),
        ctx.now,
      );
      if (paid.length === 0) return noContent();
      const today = toLocalDate(ctx.now);
      return this.created(
        ctx,
        `${KB}/accounts/${found.id}/invoices?startDate=${today}&endDate=${today}&invoicesFilter=${paid.map((i) => i.id).join(',')}`,
      );
    });
    this.tenantRoute('GET', `/accounts/${UUID}/invoicePayments`, (ctx, tenant) => {
      const found = account(ctx, tenant);
      return json(
        200,
        [...this.engine.payments.values()]
          .filter((p) => p.accountId === found.id)
          .sort((a, b) => a.paymentNumber - b.paymentNumber)
          .map(invoicePaymentJson),
      );
    });
  }

  private registerSubscriptionRoutes(): void {
    const planSpec = (body: Record<string, unknown>, forCreate: boolean) => {
      const planName = optionalString(body, 'planName');
      const productName = optionalString(body, 'productName');
      const productCategory = optionalString(body, 'productCategory');
      const billingPeriod = optionalString(body, 'billingPeriod');
      const priceList = optionalString(body, 'priceList');
      if (planName) {
        if (forCreate) {
          if (productName !== undefined)
            throw badRequest('SubscriptionJson productName should not be set when planName is specified');
          if (productCategory !== undefined) {
            throw badRequest('SubscriptionJson productCategory should not be set when planName is specified');
          }
          if (billingPeriod !== undefined)
            throw badRequest('SubscriptionJson billingPeriod should not be set when planName is specified');
          if (priceList !== undefined)
            throw badRequest('SubscriptionJson priceList should not be set when planName is specified');
        }
        return { planName };
      }
      const suffix = forCreate ? ' when no planName is specified' : '';
      if (!productName) throw badRequest(`SubscriptionJson productName needs to be set${suffix}`);
      if (forCreate && !productCategory)
        throw badRequest(`SubscriptionJson productCategory needs to be set${suffix}`);
      if (!billingPeriod) throw badRequest(`SubscriptionJson billingPeriod needs to be set${suffix}`);
      return { productName, billingPeriod, priceList };
    };

    this.tenantRoute('POST', '/subscriptions', (ctx, tenant) => {
      const body = this.objectBody(ctx, 'SubscriptionJson body should be specified');
      const accountId = optionalString(body, 'accountId');
      if (!accountId) throw badRequest('SubscriptionJson accountId needs to be set');
      const spec = planSpec(body, true);
      for (const name of ['entitlementDate', 'billingDate']) {
        const requested = dateParam(ctx.query, name);
        if (requested !== null && toLocalDate(requested) > toLocalDate(ctx.now)) {
          throw badRequest(`KillBillEmulator does not emulate future ${name} (PENDING subscriptions)`);
        }
      }
      const found = this.engine.getAccount(tenant, accountId);
      const s = this.engine.createSubscription(
        tenant,
        found,
        {
          ...spec,
          phaseType: optionalString(body, 'phaseType'),
          externalKey: optionalString(body, 'externalKey'),
          bundleExternalKey: optionalString(body, 'bundleExternalKey'),
          bundleId: optionalString(body, 'bundleId'),
        },
        ctx.now,
      );
      return this.created(ctx, `${KB}/subscriptions/${s.id}`);
    });
    this.tenantRoute('GET', '/subscriptions', (ctx, tenant) => {
      const externalKey = ctx.query.get('externalKey');
      if (!externalKey) throw badRequest('externalKey should be specified');
      return json(200, subscriptionJson(this.engine, this.engine.getSubscriptionByKey(tenant, externalKey)));
    });
    this.tenantRoute('GET', `/subscriptions/${UUID}`, (ctx, tenant) =>
      json(200, subscriptionJson(this.engine, this.engine.getSubscription(tenant, ctx.params[0]))),
    );
    this.tenantRoute('PUT', `/subscriptions/${UUID}`, (ctx, tenant) => {
      const s = this.engine.getSubscription(tenant, ctx.params[0]);
      const body = this.objectBody(ctx, 'SubscriptionJson body should be specified');
      const requestedDate = dateParam(ctx.query, 'requestedDate');
      const billingPolicy = enumParam(ctx.query, 'billingPolicy', [
        'START_OF_TERM',
        'END_OF_TERM',
        'IMMEDIATE',
      ]);
      if (requestedDate !== null && billingPolicy !== null) {
        throw badRequest('Only one of requestedDate or billingPolicy should be specified');
      }
      if (billingPolicy === 'START_OF_TERM')
        throw badRequest('START_OF_TERM is not a valid billingPolicy for a change of plan');
      this.engine.changePlan(tenant, s, planSpec(body, false), { requestedDate, billingPolicy }, ctx.now);
      return noContent();
    });
    this.tenantRoute('DELETE', `/subscriptions/${UUID}`, (ctx, tenant) => {
      const s = this.engine.getSubscription(tenant, ctx.params[0]);
      this.engine.cancelSubscription(
        s,
        {
          requestedDate: dateParam(ctx.query, 'requestedDate'),
          entitlementPolicy: enumParam(ctx.query, 'entitlementPolicy', ['IMMEDIATE', 'END_OF_TERM']),
          billingPolicy: enumParam(ctx.query, 'billingPolicy', ['START_OF_TERM', 'END_OF_TERM', 'IMMEDIATE']),
          useRequestedDateForBilling: boolParam(ctx.query, 'useRequestedDateForBilling'),
        },
        ctx.now,
      );
      return noContent();
    });
    this.tenantRoute('PUT', `/subscriptions/${UUID}/uncancel`, (ctx, tenant) => {
      this.engine.uncancelSubscription(this.engine.getSubscription(tenant, ctx.params[0]), ctx.now);
      return noContent();
    });
    this.tenantRoute('PUT', `/subscriptions/${UUID}/undoChangePlan`, (ctx, tenant) => {
      this.engine.undoChangePlan(this.engine.getSubscription(tenant, ctx.params[0]), ctx.now);
      return noContent();
    });

    this.tenantRoute('GET', `/bundles/${UUID}`, (ctx, tenant) =>
      json(200, bundleJson(this.engine, this.engine.getBundle(tenant, ctx.params[0]))),
    );
    this.tenantRoute('GET', '/bundles', (ctx, tenant) => {
      const externalKey = ctx.query.get('externalKey');
      if (!externalKey) throw badRequest('externalKey should be specified');
      const includedDeleted = boolParam(ctx.query, 'includedDeleted');
      const bundles = [...this.engine.bundles.values()].filter(
        (b) =>
          b.tenantId === tenant.id &&
          b.externalKey === externalKey &&
          (includedDeleted || this.engine.isBundleActive(b)),
      );
      return json(
        200,
        bundles.map((b) => bundleJson(this.engine, b)),
      );
    });
    this.tenantRoute('PUT', `/bundles/${UUID}/pause`, (ctx, tenant) => {
      if (
        dateParam(ctx.query, 'requestedDate') !== null &&
        toLocalDate(dateParam(ctx.query, 'requestedDate') ?? 0) > toLocalDate(ctx.now)
      ) {
        throw badRequest('KillBillEmulator does not emulate a future pause date');
      }
      this.engine.pauseBundle(this.engine.getBundle(tenant, ctx.params[0]), ctx.now);
      return noContent();
    });
    this.tenantRoute('PUT', `/bundles/${UUID}/resume`, (ctx, tenant) => {
      this.engine.resumeBundle(this.engine.getBundle(tenant, ctx.params[0]), ctx.now);
      return noContent();
    });
  }

  private registerInvoiceRoutes(): void {
    this.tenantRoute('GET', `/invoices/${UUID}/?`, (ctx, tenant) =>
      json(200, invoiceJson(this.engine, this.engine.getInvoice(tenant, ctx.params[0]), true)),
    );
    this.tenantRoute('GET', `/invoices/${UUID}/payments`, (ctx, tenant) => {
      const invoice = this.engine.getInvoice(tenant, ctx.params[0]);
      return json(200, this.engine.paymentsOfInvoice(invoice).map(invoicePaymentJson));
    });
    this.tenantRoute('POST', `/invoices/${UUID}/payments`, (ctx, tenant) => {
      const body = this.objectBody(ctx, 'InvoicePaymentJson body should be specified');
      const accountId = optionalString(body, 'accountId');
      if (!accountId) throw badRequest('InvoicePaymentJson accountId needs to be set');
      const externalPayment = boolParam(ctx.query, 'externalPayment');
      const paymentMethodId = optionalString(body, 'paymentMethodId') ?? null;
      if (externalPayment && paymentMethodId !== null) {
        throw badRequest(
          'InvoicePaymentJson should not contain a paymentMethodId when this is an external payment',
        );
      }
      const found = this.engine.getAccount(tenant, accountId);
      const invoice = this.engine.getInvoice(tenant, ctx.params[0]);
      const payment = this.engine.payInvoice(
        found,
        invoice,
        {
          amount: optionalNumber(body, 'purchasedAmount') ?? null,
          externalKey: optionalString(body, 'paymentExternalKey') ?? null,
          externalPayment,
          paymentMethodId,
        },
        ctx.now,
      );
      if (!payment) return noContent();
      return this.created(ctx, `${KB}/invoicePayments/${payment.id}/`);
    });
    this.tenantRoute('GET', `/invoicePayments/${UUID}/?`, (ctx, tenant) => {
      const payment = this.engine.payments.get(ctx.params[0]);
      if (!payment || payment.tenantId !== tenant.id) {
        throw new KbApiError(404, EXCEPTION_CLASS.payment, 7020, `Payment ${ctx.params[0]} does not exist`);
      }
      return json(200, invoicePaymentJson(payment));
    });
  }

  private registerTestRoutes(): void {
    if (!this.options.testMode) return;
    const clockReply = (ctx: RequestContext): Reply => {
      const timeZone = ctx.query.get('timeZone') ?? 'UTC';
      let localDate: string;
      try {
        localDate = new Intl.DateTimeFormat('en-CA', {
          timeZone,
          year: 'numeric',
          month: '2-digit',
          day: '2-digit',
        }).format(new Date(this.clock.now()));
      } catch {
        throw badRequest(`Invalid timeZone ${timeZone}`);
      }
      return json(200, { currentUtcTime: toIso(this.clock.now()), timeZone, localDate });
    };
    this.tenantRoute('GET', '/test/clock', clockReply);
    this.tenantRoute(
      'POST',
      '/test/clock',
      (ctx) => {
        const requested = ctx.query.get('requestedDate');
        if (requested === null || requested === '') {
          this.resetClock();
        } else {
          const parsed = parseDateParam(requested);
          if (parsed === null) throw badRequest(`Invalid requestedDate ${requested}`);
          this.setClock(parsed);
        }
        return clockReply(ctx);
      },
      false,
    );
    this.tenantRoute(
      'PUT',
      '/test/clock',
      (ctx) => {
        const read = (name: string): number | null => {
          const value = ctx.query.get(name);
          if (value === null) return null;
          const n = Number(value);
          if (!Number.isInteger(n)) throw badRequest(`Invalid ${name} ${value}`);
          return n;
        };
        const days = read('days');
        const weeks = read('weeks');
        const months = read('months');
        const years = read('years');
        if (days !== null) this.advanceBy({ days });
        else if (weeks !== null) this.advanceBy({ weeks });
        else if (months !== null) this.advanceBy({ months });
        else if (years !== null) this.advanceBy({ years });
        return clockReply(ctx);
      },
      false,
    );
    this.tenantRoute('GET', '/test/queues', () => ({ status: 200 }));
  }
}
