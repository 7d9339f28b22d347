import axios, { AxiosInstance, isAxiosError } from 'axios';
import http from 'node:http';
import https from 'node:https';
import { setTimeout as sleep } from 'node:timers/promises';
import { z } from 'zod';
import { idFromLocation } from './killbill-location';
import {
  KillBillAuthError,
  KillBillBadRequestError,
  KillBillConflictError,
  KillBillError,
  KillBillFailure,
  KillBillNotFoundError,
  KillBillProtocolError,
  KillBillServerError,
  KillBillUnavailableError,
} from './killbill.errors';
import {
  CreateAccountInput,
  CreateSubscriptionInput,
  ExternalPaymentInput,
  KbAccount,
  kbAccountSchema,
  KbBillingPolicy,
  KbBundle,
  kbBundleSchema,
  KbCatalog,
  kbCatalogSchema,
  KbClock,
  kbClockSchema,
  KbEntitlementPolicy,
  KbInvoice,
  KbInvoicePayment,
  kbInvoicePaymentSchema,
  kbInvoiceSchema,
  KbOverdueConfig,
  kbOverdueConfigSchema,
  KbOverdueState,
  kbOverdueStateSchema,
  KbSubscription,
  kbSubscriptionSchema,
  KbTag,
  kbTagSchema,
  KbTenant,
  kbTenantKeyValueSchema,
  kbTenantSchema,
} from './killbill.types';

export interface KillBillSettings {
  url: string;
  username: string;
  password: string;
  apiKey: string;
  apiSecret: string;
  /** X-Killbill-CreatedBy on every write (audit log). */
  createdBy: string;
  timeoutMs: number;
  /** Retries of idempotent calls after a transient failure. */
  retries: number;
  /** First retry delay; doubled at each retry. */
  retryDelayMs?: number;
}

type Method = 'GET' | 'POST' | 'PUT' | 'DELETE';
type QueryValue = string | number | boolean | null | undefined;

interface CallSpec {
  method: Method;
  path: string;
  query?: Record<string, QueryValue | QueryValue[]>;
  json?: unknown;
  text?: string;
  contentType?: string;
  accept?: string;
  /** false for the calls Kill Bill exempts from the tenant headers (tenant creation, healthcheck). */
  tenant?: boolean;
  /** Safe to repeat after a failure whose outcome is unknown. Default: GET only. */
  idempotent?: boolean;
}

interface RawResponse {
  status: number;
  location: string | undefined;
  body: string;
}

const KB = '/1.0/kb';
const TRANSIENT_STATUSES = new Set([408, 502, 503, 504]);

function enc(value: string): string {
  return encodeURIComponent(value);
}

function queryString(query: CallSpec['query']): string {
  if (!query) return '';
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(query)) {
    for (const v of Array.isArray(value) ? value : [value]) {
      if (v !== undefined && v !== null) params.append(key, String(v));
    }
  }
  const text = params.toString();
  return text ? `?${text}` : '';
}

/**
 * The platform's hand-written Kill Bill 0.24 client (contract §6: the npm package's types are wrong for the
 * calls that matter). Basic auth + tenant headers on every call, X-Killbill-CreatedBy on writes, ids read
 * from Location, errors mapped to typed exceptions, a timeout on every call, and retries for idempotent
 * calls only (a POST that timed out may have happened).
 */
export class KillBillClient {
  private readonly http: AxiosInstance;
  private readonly httpAgent = new http.Agent({ keepAlive: true, maxSockets: 32 });
  private readonly httpsAgent = new https.Agent({ keepAlive: true, maxSockets: 32 });

  constructor(private readonly settings: KillBillSettings) {
    this.http = axios.create({
      baseURL: settings.url.replace(/\/+$/, ''),
      timeout: settings.timeoutMs,
      auth: { username: settings.username, password: settings.password },
      maxRedirects: 0,
      proxy: false,
      responseType: 'text',
      transformResponse: [(data: unknown) => data],
      validateStatus: () => true,
      httpAgent: this.httpAgent,
      httpsAgent: this.httpsAgent,
    });
  }

  get baseUrl(): string {
    return this.settings.url;
  }

  /** Closes the keep-alive sockets (application shutdown). */
  close(): void {
    this.httpAgent.destroy();
    this.httpsAgent.destroy();
  }

  // ------------------------------------------------------------------------------------------ health, tenant

  /** GET /1.0/healthcheck: true when every check is healthy (200), false when Kill Bill says unhealthy (500). */
  async healthcheck(): Promise<boolean> {
    const response = await this.send({ method: 'GET', path: '/1.0/healthcheck', tenant: false });
    if (response.status === 200) return true;
    if (response.status === 500) return false;
    throw this.error({ method: 'GET', path: '/1.0/healthcheck' }, response);
  }

  /** The tenant with this apiKey, or null. Kill Bill answers 500 (TenantCacheLoader), not 404, when unknown. */
  async findTenantByApiKey(apiKey: string): Promise<KbTenant | null> {
    const spec: CallSpec = { method: 'GET', path: `${KB}/tenants`, query: { apiKey }, tenant: false };
    const response = await this.send(spec);
    if (response.status === 500 && /TenantCacheLoader cannot find value/.test(response.body)) return null;
    return this.parse(spec, response, kbTenantSchema);
  }

  /** POST /1.0/kb/tenants; throws KillBillConflictError when the apiKey exists. */
  async createTenant(input: { apiKey: string; apiSecret: string; externalKey?: string }): Promise<string> {
    return this.create({
      method: 'POST',
      path: `${KB}/tenants`,
      query: { useGlobalDefault: false },
      json: input,
      tenant: false,
    });
  }

  async registerNotificationCallback(url: string): Promise<void> {
    // Single-value key: registering again replaces the URL, so a retry is harmless.
    await this.expectCreated({
      method: 'POST',
      path: `${KB}/tenants/registerNotificationCallback`,
      query: { cb: url },
      idempotent: true,
    });
  }

  async getNotificationCallbacks(): Promise<string[]> {
    const spec: CallSpec = { method: 'GET', path: `${KB}/tenants/registerNotificationCallback` };
    return this.parse(spec, await this.send(spec), kbTenantKeyValueSchema).values;
  }

  async deleteNotificationCallback(): Promise<void> {
    await this.expectNoContent({
      method: 'DELETE',
      path: `${KB}/tenants/registerNotificationCallback`,
      idempotent: true,
    });
  }

  /** Replaces the whole per-tenant property map (contract §2.4). */
  async uploadPerTenantConfig(properties: Record<string, string>): Promise<void> {
    await this.expectCreated({
      method: 'POST',
      path: `${KB}/tenants/uploadPerTenantConfig`,
      text: JSON.stringify(properties),
      contentType: 'text/plain',
      idempotent: true,
    });
  }

  // ------------------------------------------------------------------------------------------ catalog, overdue

  /** Adds a catalog version; 400 (2080) when its effectiveDate already exists. */
  async uploadCatalogXml(xml: string): Promise<void> {
    await this.expectCreated({
      method: 'POST',
      path: `${KB}/catalog/xml`,
      text: xml,
      contentType: 'text/xml',
    });
  }

  async validateCatalogXml(xml: string): Promise<string[]> {
    const spec: CallSpec = {
      method: 'POST',
      path: `${KB}/catalog/xml/validate`,
      text: xml,
      contentType: 'text/xml',
      idempotent: true,
    };
    const result = this.parse(
      spec,
      await this.send(spec),
      z.looseObject({
        catalogValidationErrors: z.array(z.looseObject({ errorDescription: z.string().nullish() })).nullish(),
      }),
    );
    return (result.catalogValidationErrors ?? []).map((e) => e.errorDescription ?? 'invalid catalog');
  }

  /** Effective dates of the uploaded versions (ISO DateTimes). */
  async getCatalogVersions(): Promise<string[]> {
    const spec: CallSpec = { method: 'GET', path: `${KB}/catalog/versions` };
    return this.parse(spec, await this.send(spec), z.array(z.string()));
  }

  /** Every catalog version, oldest first (the last one is the newest). */
  async getCatalog(): Promise<KbCatalog[]> {
    const spec: CallSpec = { method: 'GET', path: `${KB}/catalog`, accept: 'application/json' };
    return this.parse(spec, await this.send(spec), z.array(kbCatalogSchema));
  }

  async getCatalogXml(): Promise<string> {
    const spec: CallSpec = { method: 'GET', path: `${KB}/catalog/xml`, accept: 'text/xml' };
    return this.text(spec, await this.send(spec));
  }

  /** Single-value key: each upload replaces the previous overdue config. */
  async uploadOverdueXml(xml: string): Promise<void> {
    await this.expectCreated({
      method: 'POST',
      path: `${KB}/overdue/xml`,
      text: xml,
      contentType: 'text/xml',
      idempotent: true,
    });
  }

  async getOverdueXml(): Promise<string> {
    const spec: CallSpec = { method: 'GET', path: `${KB}/overdue/xml`, accept: 'text/xml' };
    return this.text(spec, await this.send(spec));
  }

  async getOverdueConfig(): Promise<KbOverdueConfig> {
    const spec: CallSpec = { method: 'GET', path: `${KB}/overdue` };
    return this.parse(spec, await this.send(spec), kbOverdueConfigSchema);
  }

  // ------------------------------------------------------------------------------------------ accounts

  async createAccount(input: CreateAccountInput): Promise<string> {
    return this.create({ method: 'POST', path: `${KB}/accounts`, json: input });
  }

  async getAccount(accountId: string, options: { withBalance?: boolean } = {}): Promise<KbAccount> {
    const spec: CallSpec = {
      method: 'GET',
      path: `${KB}/accounts/${enc(accountId)}`,
      query: { accountWithBalanceAndCBA: options.withBalance ? true : undefined },
    };
    return this.parse(spec, await this.send(spec), kbAccountSchema);
  }

  /** The account with this externalKey, or null (404). */
  async findAccountByExternalKey(
    externalKey: string,
    options: { withBalance?: boolean } = {},
  ): Promise<KbAccount | null> {
    const spec: CallSpec = {
      method: 'GET',
      path: `${KB}/accounts`,
      query: { externalKey, accountWithBalanceAndCBA: options.withBalance ? true : undefined },
    };
    const response = await this.send(spec);
    if (response.status === 404) return null;
    return this.parse(spec, response, kbAccountSchema);
  }

  async getAccountBundles(accountId: string): Promise<KbBundle[]> {
    const spec: CallSpec = { method: 'GET', path: `${KB}/accounts/${enc(accountId)}/bundles` };
    return this.parse(spec, await this.send(spec), z.array(kbBundleSchema));
  }

  /** With components, so items, amount and balance are real (contract §4.1 ⚠). */
  async getAccountInvoices(accountId: string): Promise<KbInvoice[]> {
    const spec: CallSpec = {
      method: 'GET',
      path: `${KB}/accounts/${enc(accountId)}/invoices`,
      query: { includeInvoiceComponents: true },
    };
    return this.parse(spec, await this.send(spec), z.array(kbInvoiceSchema));
  }

  async getAccountOverdueState(accountId: string): Promise<KbOverdueState> {
    const spec: CallSpec = { method: 'GET', path: `${KB}/accounts/${enc(accountId)}/overdue` };
    return this.parse(spec, await this.send(spec), kbOverdueStateSchema);
  }

  async addAccountTags(accountId: string, tagDefinitionIds: string[]): Promise<void> {
    await this.expectCreated({
      method: 'POST',
      path: `${KB}/accounts/${enc(accountId)}/tags`,
      json: tagDefinitionIds,
    });
  }

  async removeAccountTags(accountId: string, tagDefinitionIds: string[]): Promise<void> {
    await this.expectNoContent({
      method: 'DELETE',
      path: `${KB}/accounts/${enc(accountId)}/tags`,
      query: { tagDef: tagDefinitionIds },
      idempotent: true,
    });
  }

  async getAccountTags(accountId: string): Promise<KbTag[]> {
    const spec: CallSpec = { method: 'GET', path: `${KB}/accounts/${enc(accountId)}/tags` };
    return this.parse(spec, await this.send(spec), z.array(kbTagSchema));
  }

  // ------------------------------------------------------------------------------------------ subscriptions

  /** By planName (never with productName/billingPeriod/priceList); phaseType picks the first phase. */
  async createSubscription(input: CreateSubscriptionInput): Promise<string> {
    return this.create({ method: 'POST', path: `${KB}/subscriptions`, json: input });
  }

  async getSubscription(subscriptionId: string): Promise<KbSubscription> {
    const spec: CallSpec = { method: 'GET', path: `${KB}/subscriptions/${enc(subscriptionId)}` };
    return this.parse(spec, await this.send(spec), kbSubscriptionSchema);
  }

  async cancelSubscription(
    subscriptionId: string,
    options: {
      entitlementPolicy?: KbEntitlementPolicy;
      billingPolicy?: KbBillingPolicy;
      requestedDate?: string;
    } = {},
  ): Promise<void> {
    await this.expectNoContent({
      method: 'DELETE',
      path: `${KB}/subscriptions/${enc(subscriptionId)}`,
      query: {
        entitlementPolicy: options.entitlementPolicy,
        billingPolicy: options.billingPolicy,
        requestedDate: options.requestedDate,
      },
    });
  }

  async uncancelSubscription(subscriptionId: string): Promise<void> {
    await this.expectNoContent({
      method: 'PUT',
      path: `${KB}/subscriptions/${enc(subscriptionId)}/uncancel`,
    });
  }

  /** Without a policy the catalog changePolicy decides (IMMEDIATE in trial, END_OF_TERM after). */
  async changePlan(
    subscriptionId: string,
    planName: string,
    options: { billingPolicy?: Exclude<KbBillingPolicy, 'START_OF_TERM'>; requestedDate?: string } = {},
  ): Promise<void> {
    await this.expectNoContent({
      method: 'PUT',
      path: `${KB}/subscriptions/${enc(subscriptionId)}`,
      query: { billingPolicy: options.billingPolicy, requestedDate: options.requestedDate },
      json: { planName },
    });
  }

  // ------------------------------------------------------------------------------------------ bundles

  async getBundle(bundleId: string): Promise<KbBundle> {
    const spec: CallSpec = { method: 'GET', path: `${KB}/bundles/${enc(bundleId)}` };
    return this.parse(spec, await this.send(spec), kbBundleSchema);
  }

  /** Active bundles with this externalKey (an empty list when none). */
  async getBundlesByExternalKey(externalKey: string): Promise<KbBundle[]> {
    const spec: CallSpec = { method: 'GET', path: `${KB}/bundles`, query: { externalKey } };
    const response = await this.send(spec);
    if (response.status === 404) return [];
    return this.parse(spec, response, z.array(kbBundleSchema));
  }

  // ------------------------------------------------------------------------------------------ invoices, payments

  /** Always with items and real amounts. */
  async getInvoice(invoiceId: string): Promise<KbInvoice> {
    const spec: CallSpec = { method: 'GET', path: `${KB}/invoices/${enc(invoiceId)}` };
    return this.parse(spec, await this.send(spec), kbInvoiceSchema);
  }

  async getInvoicePayments(invoiceId: string): Promise<KbInvoicePayment[]> {
    const spec: CallSpec = { method: 'GET', path: `${KB}/invoices/${enc(invoiceId)}/payments` };
    return this.parse(spec, await this.send(spec), z.array(kbInvoicePaymentSchema));
  }

  /**
   * Records a payment made outside Kill Bill (contract §4.6). Returns the payment id, or null when there was
   * nothing to pay (204). Pass paymentExternalKey (the gateway reference) so a retry cannot pay twice.
   */
  async createExternalPayment(invoiceId: string, input: ExternalPaymentInput): Promise<string | null> {
    const spec: CallSpec = {
      method: 'POST',
      path: `${KB}/invoices/${enc(invoiceId)}/payments`,
      query: { externalPayment: true },
      json: {
        accountId: input.accountId,
        targetInvoiceId: invoiceId,
        purchasedAmount: input.amount,
        paymentExternalKey: input.paymentExternalKey,
      },
    };
    const response = await this.send(spec);
    if (response.status === 204) return null;
    return this.idFrom(spec, response);
  }

  // ------------------------------------------------------------------------------------------ test clock

  /** Kill Bill test mode only (404 otherwise). */
  async getClock(): Promise<KbClock> {
    const spec: CallSpec = { method: 'GET', path: `${KB}/test/clock` };
    return this.parse(spec, await this.send(spec), kbClockSchema);
  }

  async setClock(requestedDate: string | null): Promise<KbClock> {
    const spec: CallSpec = {
      method: 'POST',
      path: `${KB}/test/clock`,
      query: { requestedDate: requestedDate ?? undefined },
      idempotent: true,
    };
    return this.parse(spec, await this.send(spec), kbClockSchema);
  }

  async advanceClock(period: {
    days?: number;
    weeks?: number;
    months?: number;
    years?: number;
  }): Promise<KbClock> {
    const spec: CallSpec = { method: 'PUT', path: `${KB}/test/clock`, query: { ...period } };
    return this.parse(spec, await this.send(spec), kbClockSchema);
  }

  // ------------------------------------------------------------------------------------------ plumbing

  private async create(spec: CallSpec): Promise<string> {
    const response = await this.send(spec);
    return this.idFrom(spec, response);
  }

  private idFrom(spec: CallSpec, response: RawResponse): string {
    if (response.status !== 201) throw this.error(spec, response);
    const id = idFromLocation(response.location);
    if (!id) {
      throw new KillBillProtocolError({
        ...this.describe(spec),
        status: response.status,
        code: null,
        className: null,
        message: `201 without an id in Location (${response.location ?? 'none'})`,
      });
    }
    return id;
  }

  private async expectCreated(spec: CallSpec): Promise<void> {
    const response = await this.send(spec);
    if (response.status !== 201 && response.status !== 200) throw this.error(spec, response);
  }

  private async expectNoContent(spec: CallSpec): Promise<void> {
    const response = await this.send(spec);
    if (response.status !== 204 && response.status !== 200) throw this.error(spec, response);
  }

  private text(spec: CallSpec, response: RawResponse): string {
    if (response.status !== 200) throw this.error(spec, response);
    return response.body;
  }

  private parse<T>(spec: CallSpec, response: RawResponse, schema: z.ZodType<T>): T {
    if (response.status !== 200) throw this.error(spec, response);
    let value: unknown;
    try {
      value = JSON.parse(response.body);
    } catch {
      throw new KillBillProtocolError({
        ...this.describe(spec),
        status: response.status,
        code: null,
        className: null,
        message: 'the answer is not JSON',
      });
    }
    const parsed = schema.safeParse(value);
    if (!parsed.success) {
      throw new KillBillProtocolError({
        ...this.describe(spec),
        status: response.status,
        code: null,
        className: null,
        message: `unexpected answer: ${parsed.error.message}`,
      });
    }
    return parsed.data;
  }

  private describe(spec: Pick<CallSpec, 'method' | 'path'>): Pick<KillBillFailure, 'method' | 'path'> {
    return { method: spec.method, path: spec.path };
  }

  /** Maps a non-success answer to the typed error for its status (contract §1.3). */
  private error(spec: Pick<CallSpec, 'method' | 'path'>, response: RawResponse): KillBillError {
    let code: number | null = null;
    let className: string | null = null;
    let message = response.body.slice(0, 500);
    try {
      const body = JSON.parse(response.body) as { code?: unknown; className?: unknown; message?: unknown };
      code = typeof body.code === 'number' ? body.code : null;
      className = typeof body.className === 'string' ? body.className : null;
      if (typeof body.message === 'string') message = body.message;
    } catch {
      // The tenant filter's 401 and Jetty's error pages are HTML, not JSON.
    }
    const failure: KillBillFailure = {
      ...this.describe(spec),
      status: response.status,
      code,
      className,
      message,
    };
    const status = response.status;
    if (TRANSIENT_STATUSES.has(status)) return new KillBillUnavailableError(failure);
    if (status === 400) return new KillBillBadRequestError(failure);
    if (status === 401 || status === 403) return new KillBillAuthError(failure);
    if (status === 404) return new KillBillNotFoundError(failure);
    if (status === 409) return new KillBillConflictError(failure);
    if (status >= 500) return new KillBillServerError(failure);
    return new KillBillProtocolError(failure);
  }

  private async send(spec: CallSpec): Promise<RawResponse> {
    const idempotent = spec.idempotent ?? spec.method === 'GET';
    const attempts = idempotent ? this.settings.retries + 1 : 1;
    const baseDelay = this.settings.retryDelayMs ?? 200;
    let last: RawResponse | KillBillUnavailableError | undefined;
    for (let attempt = 0; attempt < attempts; attempt++) {
      if (attempt > 0) await sleep(baseDelay * 2 ** (attempt - 1));
      last = await this.sendOnce(spec);
      if (last instanceof KillBillUnavailableError) continue;
      if (TRANSIENT_STATUSES.has(last.status) && attempt + 1 < attempts) continue;
      return last;
    }
    if (last instanceof KillBillUnavailableError) throw last;
    if (!last) throw new Error('unreachable: no attempt was made');
    return last;
  }

  private async sendOnce(spec: CallSpec): Promise<RawResponse | KillBillUnavailableError> {
    const headers: Record<string, string> = { Accept: spec.accept ?? 'application/json' };
    if (spec.tenant !== false) {
      headers['X-Killbill-ApiKey'] = this.settings.apiKey;
      headers['X-Killbill-ApiSecret'] = this.settings.apiSecret;
    }
    if (spec.method !== 'GET') headers['X-Killbill-CreatedBy'] = this.settings.createdBy;
    let data: string | undefined;
    if (spec.json !== undefined) {
      data = JSON.stringify(spec.json);
      headers['Content-Type'] = 'application/json';
    } else if (spec.text !== undefined) {
      data = spec.text;
      headers['Content-Type'] = spec.contentType ?? 'text/plain';
    } else if (spec.method === 'PUT' || spec.method === 'POST') {
      headers['Content-Type'] = 'application/json';
    }
    try {
      const response = await this.http.request<string>({
        method: spec.method,
        url: `${spec.path}${queryString(spec.query)}`,
        data,
        headers,
      });
      const location = response.headers.location as string | undefined;
      return {
        status: response.status,
        location,
        body: typeof response.data === 'string' ? response.data : '',
      };
    } catch (error) {
      const timedOut = isAxiosError(error) && (error.code === 'ECONNABORTED' || error.code === 'ETIMEDOUT');
      return new KillBillUnavailableError({
        ...this.describe(spec),
        status: null,
        code: null,
        className: null,
        message: timedOut
          ? `timed out after ${this.settings.timeoutMs} ms`
          : error instanceof Error
            ? error.message
            : String(error),
      });
    }
  }
}
