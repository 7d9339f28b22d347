/**
 * Exercises the Kill Bill emulator (test double) over real HTTP, with a real callback server receiving the
 * push notifications, against the behaviour described in /work/shared/reference/killbill-contract.md.
 */
import http from 'node:http';
import { type AddressInfo } from 'node:net';
import { KillBillEmulator } from './killbill-emulator';
import { type KillBillPushPayload } from './push-dispatcher';

const UUID_RE = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/;
const AUTH = `Basic ${Buffer.from('admin:password').toString('base64')}`;

const CATALOG = `<?xml version="1.0" encoding="UTF-8"?>
<catalog xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:noNamespaceSchemaLocation="https://docs.killbill.io/latest/catalog.xsd">
  <effectiveDate>2024-01-01T00:00:00+00:00</effectiveDate>
  <catalogName>SaasOdoo</catalogName>
  <recurringBillingMode>IN_ADVANCE</recurringBillingMode>
  <currencies><currency>USD</currency></currencies>
  <products>
    <product name="Basic"><category>BASE</category></product>
    <product name="Standard"><category>BASE</category></product>
  </products>
  <rules>
    <changePolicy>
      <changePolicyCase><phaseType>TRIAL</phaseType><policy>IMMEDIATE</policy></changePolicyCase>
      <changePolicyCase><policy>IMMEDIATE</policy></changePolicyCase>
    </changePolicy>
    <cancelPolicy><cancelPolicyCase><policy>END_OF_TERM</policy></cancelPolicyCase></cancelPolicy>
    <billingAlignment><billingAlignmentCase><alignment>ACCOUNT</alignment></billingAlignmentCase></billingAlignment>
  </rules>
  <plans>
    <plan name="basic-monthly">
      <product>Basic</product>
      <initialPhases>
        <phase type="TRIAL">
          <duration><unit>DAYS</unit><number>14</number></duration>
          <fixed><fixedPrice><price><currency>USD</currency><value>0</value></price></fixedPrice></fixed>
        </phase>
      </initialPhases>
      <finalPhase type="EVERGREEN">
        <duration><unit>UNLIMITED</unit></duration>
        <recurring>
          <billingPeriod>MONTHLY</billingPeriod>
          <recurringPrice><price><currency>USD</currency><value>5.00</value></price></recurringPrice>
        </recurring>
      </finalPhase>
    </plan>
    <plan name="basic-immediate">
      <product>Basic</product>
      <finalPhase type="EVERGREEN">
        <duration><unit>UNLIMITED</unit></duration>
        <recurring>
          <billingPeriod>MONTHLY</billingPeriod>
          <recurringPrice><price><currency>USD</currency><value>5.00</value></price></recurringPrice>
        </recurring>
      </finalPhase>
    </plan>
    <plan name="standard-monthly">
      <product>Standard</product>
      <finalPhase type="EVERGREEN">
        <duration><unit>UNLIMITED</unit></duration>
        <recurring>
          <billingPeriod>MONTHLY</billingPeriod>
          <recurringPrice><price><currency>USD</currency><value>10.00</value></price></recurringPrice>
        </recurring>
      </finalPhase>
    </plan>
  </plans>
  <priceLists>
    <defaultPriceList name="DEFAULT"><plans><plan>basic-monthly</plan><plan>basic-immediate</plan><plan>standard-monthly</plan></plans></defaultPriceList>
  </priceLists>
</catalog>
`;

const OVERDUE = `<overdueConfig>
  <accountOverdueStates>
    <initialReevaluationInterval><unit>DAYS</unit><number>10</number></initialReevaluationInterval>
    <state name="CANCELLATION">
      <condition><timeSinceEarliestUnpaidInvoiceEqualsOrExceeds><unit>DAYS</unit><number>21</number></timeSinceEarliestUnpaidInvoiceEqualsOrExceeds></condition>
      <externalMessage>Reached CANCELLATION</externalMessage>
      <subscriptionCancellationPolicy>END_OF_TERM</subscriptionCancellationPolicy>
    </state>
    <state name="BLOCKED">
      <condition><timeSinceEarliestUnpaidInvoiceEqualsOrExceeds><unit>DAYS</unit><number>14</number></timeSinceEarliestUnpaidInvoiceEqualsOrExceeds></condition>
      <blockChanges>true</blockChanges>
      <disableEntitlementAndChangesBlocked>true</disableEntitlementAndChangesBlocked>
      <autoReevaluationInterval><unit>DAYS</unit><number>7</number></autoReevaluationInterval>
    </state>
    <state name="WARNING">
      <condition><timeSinceEarliestUnpaidInvoiceEqualsOrExceeds><unit>DAYS</unit><number>10</number></timeSinceEarliestUnpaidInvoiceEqualsOrExceeds></condition>
      <blockChanges>true</blockChanges>
      <disableEntitlementAndChangesBlocked>false</disableEntitlementAndChangesBlocked>
      <autoReevaluationInterval><unit>DAYS</unit><number>4</number></autoReevaluationInterval>
    </state>
  </accountOverdueStates>
</overdueConfig>
`;

interface Received {
  headers: http.IncomingHttpHeaders;
  raw: string;
  payload: KillBillPushPayload;
}

/** A callback receiver like the billing service's; `status` decides what it answers. */
class CallbackServer {
  readonly received: Received[] = [];
  status: (n: number) => number = () => 200;
  private readonly server = http.createServer((req, res) => {
    let raw = '';
    req.on('data', (chunk: Buffer) => (raw += chunk.toString('utf8')));
    req.on('end', () => {
      this.received.push({ headers: req.headers, raw, payload: JSON.parse(raw) as KillBillPushPayload });
      res.writeHead(this.status(this.received.length));
      res.end();
    });
  });

  async start(): Promise<string> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/api/billing/webhooks/killbill?token=s3cret`;
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  types(): string[] {
    return this.received.map((r) => r.payload.eventType);
  }

  of(eventType: string): Received[] {
    return this.received.filter((r) => r.payload.eventType === eventType);
  }

  clear(): void {
    this.received.length = 0;
  }
}

interface KbResponse {
  status: number;
  location: string | null;
  contentType: string | null;
  text: string;
  json: <T = Record<string, unknown>>() => T;
}

function client(baseUrl: string, tenant?: { apiKey: string; apiSecret: string }) {
  return async (
    method: string,
    path: string,
    options: {
      body?: unknown;
      xml?: string;
      headers?: Record<string, string>;
      noAuth?: boolean;
      noCreatedBy?: boolean;
    } = {},
  ): Promise<KbResponse> => {
    const headers: Record<string, string> = { ...(options.headers ?? {}) };
    if (!options.noAuth) headers.Authorization = AUTH;
    if (tenant) {
      headers['X-Killbill-ApiKey'] = tenant.apiKey;
      headers['X-Killbill-ApiSecret'] = tenant.apiSecret;
    }
    if (method !== 'GET' && !options.noCreatedBy) headers['X-Killbill-CreatedBy'] = 'spec';
    let body: string | undefined;
    if (options.xml !== undefined) {
      headers['Content-Type'] = 'text/xml';
      body = options.xml;
    } else if (options.body !== undefined) {
      headers['Content-Type'] = 'application/json';
      body = JSON.stringify(options.body);
    }
    const response = await fetch(`${baseUrl}${path}`, { method, headers, body });
    const text = await response.text();
    return {
      status: response.status,
      location: response.headers.get('location'),
      contentType: response.headers.get('content-type'),
      text,
      json: <T>() => JSON.parse(text) as T,
    };
  };
}

const meta = (r: Received): Record<string, unknown> =>
  r.payload.metaData === null ? {} : (JSON.parse(r.payload.metaData) as Record<string, unknown>);

describe('KillBillEmulator', () => {
  let emulator: KillBillEmulator;
  let callback: CallbackServer;
  let callbackUrl: string;
  let url: string;

  beforeEach(async () => {
    emulator = new KillBillEmulator();
    ({ url } = await emulator.start());
    callback = new CallbackServer();
    callbackUrl = await callback.start();
  });

  afterEach(async () => {
    await emulator.stop();
    await callback.stop();
  });

  async function bootstrapTenant(apiKey = 'bob'): Promise<ReturnType<typeof client>> {
    const admin = client(url);
    const created = await admin('POST', '/1.0/kb/tenants', { body: { apiKey, apiSecret: 'lazar' } });
    expect(created.status).toBe(201);
    const kb = client(url, { apiKey, apiSecret: 'lazar' });
    expect(
      (await kb('POST', `/1.0/kb/tenants/registerNotificationCallback?cb=${encodeURIComponent(callbackUrl)}`))
        .status,
    ).toBe(201);
    expect((await kb('POST', '/1.0/kb/catalog/xml', { xml: CATALOG })).status).toBe(201);
    expect((await kb('POST', '/1.0/kb/overdue/xml', { xml: OVERDUE })).status).toBe(201);
    return kb;
  }

  it('applies auth, tenant headers, CreatedBy and the error conventions of contract §1', async () => {
    const anonymous = client(url);
    expect((await anonymous('GET', '/1.0/healthcheck', { noAuth: true })).status).toBe(200);
    const noAuth = await anonymous('POST', '/1.0/kb/tenants', {
      body: { apiKey: 'a', apiSecret: 'b' },
      noAuth: true,
    });
    expect(noAuth.status).toBe(401);

    const noCreatedBy = await anonymous('POST', '/1.0/kb/tenants', {
      body: { apiKey: 'a', apiSecret: 'b' },
      noCreatedBy: true,
    });
    expect(noCreatedBy.status).toBe(400);
    expect(noCreatedBy.json()).toEqual({
      className: 'java.lang.IllegalArgumentException',
      code: null,
      message: 'Header X-Killbill-CreatedBy needs to be set',
      causeClassName: null,
      causeMessage: null,
      stackTrace: [],
    });

    const created = await anonymous('POST', '/1.0/kb/tenants', { body: { apiKey: 'a', apiSecret: 'b' } });
    expect(created.status).toBe(201);
    expect(created.text).toBe('');
    expect(created.location).toMatch(new RegExp(`^${url}/1\\.0/kb/tenants/${UUID_RE.source}$`));
    const duplicate = await anonymous('POST', '/1.0/kb/tenants', { body: { apiKey: 'a', apiSecret: 'b' } });
    expect(duplicate.status).toBe(409);
    expect(duplicate.json()).toMatchObject({ code: 20000 });
    const unknownKey = await anonymous('GET', '/1.0/kb/tenants?apiKey=nobody');
    expect(unknownKey.status).toBe(500);
    expect(unknownKey.json<{ message: string }>().message).toContain(
      'TenantCacheLoader cannot find value for key nobody',
    );

    const noTenant = await anonymous('GET', '/1.0/kb/accounts?externalKey=x');
    expect(noTenant.status).toBe(401);
    expect(noTenant.contentType).toContain('text/html');
    expect(noTenant.text).toContain(
      'Make sure to set the X-Killbill-ApiKey and X-Killbill-ApiSecret headers',
    );
    const wrongSecret = await client(url, { apiKey: 'a', apiSecret: 'wrong' })(
      'GET',
      '/1.0/kb/accounts?externalKey=x',
    );
    expect(wrongSecret.status).toBe(401);

    const kb = client(url, { apiKey: 'a', apiSecret: 'b' });
    const missing = await kb('GET', '/1.0/kb/accounts?externalKey=cust-42');
    expect(missing.status).toBe(404);
    expect(missing.json()).toMatchObject({
      className: 'org.killbill.billing.account.api.AccountApiException',
      code: 3003,
      message: 'Account does not exist for key cust-42',
    });
    expect((await kb('GET', '/1.0/kb/accounts/11111111-2222-3333-4444-555555555555')).json()).toMatchObject({
      code: 3002,
    });
    expect(
      (await kb('POST', '/1.0/kb/accounts', { body: { externalKey: 'k1', currency: 'USD' } })).status,
    ).toBe(201);
    expect(
      (await kb('POST', '/1.0/kb/accounts', { body: { externalKey: 'k1', currency: 'USD' } })).json(),
    ).toMatchObject({
      code: 3000,
    });
    expect((await kb('GET', '/1.0/kb/invoices/11111111-2222-3333-4444-555555555555')).json()).toMatchObject({
      code: 4006,
    });
    expect((await kb('GET', '/1.0/kb/subscriptions/11111111-2222-3333-4444-555555555555')).status).toBe(404);
  });

  it('stores the catalog, overdue config and callback per the contract §2', async () => {
    const kb = await bootstrapTenant();
    await emulator.waitForIdle();
    // the freshly registered URL receives its own TENANT_CONFIG_CHANGE, then the catalog's and the overdue config's
    expect(callback.received.map((r) => r.payload.metaData)).toEqual([
      '{"key":"PUSH_NOTIFICATION_CB"}',
      '{"key":"CATALOG"}',
      '{"key":"OVERDUE_CONFIG"}',
    ]);
    const first = callback.received[0];
    expect(first.headers['user-agent']).toBe('KillBill/1.0');
    expect(first.headers['content-type']).toBe('application/json; charset=UTF-8');
    // the JDK client offers an h2c upgrade on http:// URLs (contract §2.6); a plain Node server ignores it
    expect(first.headers.upgrade).toBe('h2c');
    expect(Object.keys(first.payload)).toEqual([
      'eventType',
      'accountId',
      'objectType',
      'objectId',
      'metaData',
    ]);
    expect(first.payload).toMatchObject({
      eventType: 'TENANT_CONFIG_CHANGE',
      accountId: null,
      objectType: 'TENANT_KVS',
    });

    expect((await kb('GET', '/1.0/kb/tenants/registerNotificationCallback')).json()).toEqual({
      key: 'PUSH_NOTIFICATION_CB',
      values: [callbackUrl],
    });
    const again = await kb('POST', '/1.0/kb/catalog/xml', { xml: CATALOG });
    expect(again.status).toBe(400);
    expect(again.json()).toMatchObject({
      code: 2080,
      className: 'org.killbill.billing.catalog.api.CatalogApiException',
    });
    const catalogs = (await kb('GET', '/1.0/kb/catalog', { headers: { Accept: 'application/json' } })).json<
      { name: string; products: { name: string; plans: { name: string; phases: { type: string }[] }[] }[] }[]
    >();
    expect(catalogs).toHaveLength(1);
    expect(catalogs[0].name).toBe('SaasOdoo');
    expect(catalogs[0].products[0].plans[0].phases.map((p) => p.type)).toEqual(['TRIAL', 'EVERGREEN']);
    expect((await kb('GET', '/1.0/kb/catalog/versions')).json()).toEqual(['2024-01-01T00:00:00.000Z']);
    const validation = await kb('POST', '/1.0/kb/catalog/xml/validate', { xml: '<catalog></catalog>' });
    expect(
      validation.json<{ catalogValidationErrors: unknown[] }>().catalogValidationErrors.length,
    ).toBeGreaterThan(0);
    expect((await kb('GET', '/1.0/kb/overdue/xml')).text).toBe(OVERDUE);
    const overdue = (await kb('GET', '/1.0/kb/overdue')).json<{ overdueStates: { name: string }[] }>();
    expect(overdue.overdueStates.map((s) => s.name)).toEqual(['CANCELLATION', 'BLOCKED', 'WARNING']);
  });

  it('runs trial → evergreen → overdue → external payment → END_OF_TERM cancellation, pushing each event', async () => {
    const kb = await bootstrapTenant();
    const clock = await kb('POST', '/1.0/kb/test/clock?requestedDate=2025-01-01T00:00:00Z');
    expect(clock.json()).toEqual({
      currentUtcTime: '2025-01-01T00:00:00.000Z',
      timeZone: 'UTC',
      localDate: '2025-01-01',
    });
    await emulator.waitForIdle();
    callback.clear();

    const accountRes = await kb('POST', '/1.0/kb/accounts', {
      body: { name: 'Tenant 42', email: 'a@example.com', externalKey: 'tenant-42', currency: 'USD' },
    });
    expect(accountRes.status).toBe(201);
    expect(accountRes.location).toMatch(new RegExp(`^${url}/1\\.0/kb/accounts/${UUID_RE.source}$`));
    const accountId = accountRes.location?.split('/').pop() ?? '';
    const byKey = (await kb('GET', '/1.0/kb/accounts?externalKey=tenant-42')).json<{
      accountId: string;
      billCycleDayLocal: number;
    }>();
    expect(byKey).toMatchObject({ accountId, billCycleDayLocal: 0 });

    const subRes = await kb('POST', '/1.0/kb/subscriptions', {
      body: { accountId, planName: 'basic-monthly', bundleExternalKey: 'instance-1' },
    });
    expect(subRes.status).toBe(201);
    expect(subRes.location).toMatch(new RegExp(`/1\\.0/kb/subscriptions/${UUID_RE.source}$`));
    const subscriptionId = subRes.location?.split('/').pop() ?? '';
    await emulator.waitForIdle();
    expect(callback.types()).toEqual([
      'ACCOUNT_CREATION',
      'ACCOUNT_CHANGE',
      'ENTITLEMENT_CREATION',
      'SUBSCRIPTION_CREATION',
      'SUBSCRIPTION_CREATION',
      'INVOICE_CREATION',
    ]);
    expect(callback.of('SUBSCRIPTION_CREATION').map(meta)).toEqual([
      { actionType: 'REQUESTED', bundleExternalKey: 'instance-1', subscriptionChangeUndo: false },
      { actionType: 'EFFECTIVE', bundleExternalKey: 'instance-1', subscriptionChangeUndo: false },
    ]);
    expect(callback.of('SUBSCRIPTION_CREATION')[0].payload).toMatchObject({
      accountId,
      objectType: 'SUBSCRIPTION',
      objectId: subscriptionId,
    });
    let sub = (await kb('GET', `/1.0/kb/subscriptions/${subscriptionId}`)).json<Record<string, unknown>>();
    expect(sub).toMatchObject({
      phaseType: 'TRIAL',
      state: 'ACTIVE',
      planName: 'basic-monthly',
      chargedThroughDate: '2025-01-01',
    });
    expect((await kb('GET', `/1.0/kb/accounts/${accountId}`)).json()).toMatchObject({
      billCycleDayLocal: 15,
    });

    // end of trial: phase change and the first (unpaid: no payment method) invoice
    callback.clear();
    expect((await kb('PUT', '/1.0/kb/test/clock?days=14')).json()).toMatchObject({ localDate: '2025-01-15' });
    await emulator.waitForIdle();
    expect(callback.types()).toEqual(['SUBSCRIPTION_PHASE', 'INVOICE_CREATION', 'INVOICE_PAYMENT_FAILED']);
    expect(meta(callback.of('SUBSCRIPTION_PHASE')[0])).toMatchObject({ actionType: 'EFFECTIVE' });
    expect(meta(callback.of('INVOICE_PAYMENT_FAILED')[0])).toMatchObject({
      paymentId: null,
      amount: null,
      currency: 'USD',
    });
    const invoiceId = callback.of('INVOICE_CREATION')[0].payload.objectId ?? '';
    sub = (await kb('GET', `/1.0/kb/subscriptions/${subscriptionId}`)).json<Record<string, unknown>>();
    expect(sub).toMatchObject({ phaseType: 'EVERGREEN', chargedThroughDate: '2025-02-15' });

    const listed = (await kb('GET', `/1.0/kb/accounts/${accountId}/invoices`)).json<
      { amount: number; items: unknown[] }[]
    >();
    expect(listed.map((i) => [i.amount, i.items.length])).toEqual([
      [0, 0],
      [0, 0],
    ]);
    const withItems = (
      await kb('GET', `/1.0/kb/accounts/${accountId}/invoices?includeInvoiceComponents=true`)
    ).json<{ amount: number; balance: number }[]>();
    expect(withItems.map((i) => [i.amount, i.balance])).toEqual([
      [0, 0],
      [5, 5],
    ]);
    const invoice = (await kb('GET', `/1.0/kb/invoices/${invoiceId}/`)).json<{
      balance: number;
      items: Record<string, unknown>[];
    }>();
    expect(invoice.balance).toBe(5);
    expect(invoice.items[0]).toMatchObject({
      itemType: 'RECURRING',
      planName: 'basic-monthly',
      phaseName: 'basic-monthly-evergreen',
      startDate: '2025-01-15',
      endDate: '2025-02-15',
      amount: 5,
    });
    expect(
      (
        await kb(
          'GET',
          `/1.0/kb/accounts/${accountId}/invoices?unpaidInvoicesOnly=true&includeInvoiceComponents=true`,
        )
      ).status,
    ).toBe(500);

    // 10 days unpaid → WARNING (blockChanges)
    callback.clear();
    await kb('PUT', '/1.0/kb/test/clock?days=10');
    await emulator.waitForIdle();
    expect(callback.types()).toEqual(['BLOCKING_STATE', 'OVERDUE_CHANGE']);
    expect(meta(callback.of('BLOCKING_STATE')[0])).toMatchObject({
      blockableId: accountId,
      service: 'overdue-service',
      stateName: 'WARNING',
      blockingType: 'ACCOUNT',
      effectiveDate: expect.stringMatching(/^2025-01-25T00:00:0/),
      transitionedToBlockedBilling: false,
      transitionedToBlockedEntitlement: false,
    });
    expect((await kb('GET', `/1.0/kb/accounts/${accountId}/overdue`)).json()).toMatchObject({
      name: 'WARNING',
      isBlockChanges: true,
      isClearState: false,
    });
    const blockedChange = await kb('PUT', `/1.0/kb/subscriptions/${subscriptionId}`, {
      body: { planName: 'standard-monthly' },
    });
    expect(blockedChange.status).toBe(400);
    expect(blockedChange.json()).toMatchObject({ code: 6000 });

    // 14 days unpaid → BLOCKED (entitlement and billing blocked)
    callback.clear();
    await kb('PUT', '/1.0/kb/test/clock?days=4');
    await emulator.waitForIdle();
    expect(callback.types()).toEqual(['TAG_CREATION', 'BLOCKING_STATE', 'OVERDUE_CHANGE']);
    expect(meta(callback.of('TAG_CREATION')[0])).toEqual({ tagDefinitionName: 'AUTO_INVOICING_OFF' });
    expect(meta(callback.of('BLOCKING_STATE')[0])).toMatchObject({
      stateName: 'BLOCKED',
      transitionedToBlockedBilling: true,
      transitionedToBlockedEntitlement: true,
    });
    expect((await kb('GET', `/1.0/kb/subscriptions/${subscriptionId}`)).json()).toMatchObject({
      state: 'BLOCKED',
    });

    // external payment of the balance clears the state
    callback.clear();
    const pay = await kb('POST', `/1.0/kb/invoices/${invoiceId}/payments?externalPayment=true`, {
      body: { accountId, purchasedAmount: 5, targetInvoiceId: invoiceId, paymentExternalKey: 'gw-1' },
    });
    expect(pay.status).toBe(201);
    expect(pay.location).toMatch(new RegExp(`^${url}/1\\.0/kb/invoicePayments/${UUID_RE.source}/$`));
    await emulator.waitForIdle();
    expect(callback.types()).toEqual([
      'INVOICE_PAYMENT_SUCCESS',
      'PAYMENT_SUCCESS',
      'TAG_DELETION',
      'BLOCKING_STATE',
      'OVERDUE_CHANGE',
    ]);
    expect(meta(callback.of('INVOICE_PAYMENT_SUCCESS')[0])).toMatchObject({
      amount: 5,
      invoicePaymentType: 'ATTEMPT',
    });
    expect(meta(callback.of('BLOCKING_STATE')[0])).toMatchObject({
      stateName: '__KILLBILL__CLEAR__OVERDUE_STATE__',
      transitionedToUnblockedBilling: true,
      transitionedToUnblockedEntitlement: true,
    });
    expect((await kb('GET', `/1.0/kb/accounts/${accountId}/overdue`)).json()).toMatchObject({
      isClearState: true,
    });
    expect((await kb('GET', `/1.0/kb/subscriptions/${subscriptionId}`)).json()).toMatchObject({
      state: 'ACTIVE',
    });
    const paymentId = pay.location?.split('/').slice(-2)[0] ?? '';
    expect((await kb('GET', `/1.0/kb/invoicePayments/${paymentId}`)).json()).toMatchObject({
      purchasedAmount: 5,
      paymentExternalKey: 'gw-1',
    });
    const nothingToPay = await kb('POST', `/1.0/kb/invoices/${invoiceId}/payments?externalPayment=true`, {
      body: { accountId },
    });
    expect(nothingToPay.status).toBe(204);
    // paymentExternalKey is unique per tenant: a retry with the same key records nothing more
    const again = await kb('POST', `/1.0/kb/invoices/${invoiceId}/payments?externalPayment=true`, {
      body: { accountId, purchasedAmount: 5, targetInvoiceId: invoiceId, paymentExternalKey: 'gw-1' },
    });
    expect(again.status).toBe(400);
    expect(again.json()).toMatchObject({ code: 7032 });
    const payments = (await kb('GET', `/1.0/kb/invoices/${invoiceId}/payments`)).json<
      { paymentExternalKey: string }[]
    >();
    expect(payments.map((p) => p.paymentExternalKey)).toEqual(['gw-1']);

    // cancel END_OF_TERM, uncancel, cancel again, then the cancellation becomes effective at the term end
    callback.clear();
    const cancelPath = `/1.0/kb/subscriptions/${subscriptionId}?entitlementPolicy=END_OF_TERM&billingPolicy=END_OF_TERM`;
    expect((await kb('DELETE', cancelPath)).status).toBe(204);
    expect((await kb('GET', `/1.0/kb/subscriptions/${subscriptionId}`)).json()).toMatchObject({
      state: 'ACTIVE',
      cancelledDate: '2025-02-15T00:00:00.000Z',
      billingEndDate: '2025-02-15T00:00:00.000Z',
    });
    expect((await kb('PUT', `/1.0/kb/subscriptions/${subscriptionId}/uncancel`)).status).toBe(204);
    expect((await kb('GET', `/1.0/kb/subscriptions/${subscriptionId}`)).json()).toMatchObject({
      cancelledDate: null,
    });
    const badUncancel = await kb('PUT', `/1.0/kb/subscriptions/${subscriptionId}/uncancel`);
    expect(badUncancel.status).toBe(500);
    expect(badUncancel.json()).toMatchObject({ code: 1070 });
    expect((await kb('DELETE', cancelPath)).status).toBe(204);
    await kb('PUT', '/1.0/kb/test/clock?days=10');
    expect((await kb('GET', `/1.0/kb/subscriptions/${subscriptionId}`)).json()).toMatchObject({
      state: 'ACTIVE',
    });
    await kb('PUT', '/1.0/kb/test/clock?days=10');
    await emulator.waitForIdle();
    expect(callback.types()).toEqual([
      'SUBSCRIPTION_CANCEL',
      'SUBSCRIPTION_UNCANCEL',
      'SUBSCRIPTION_UNCANCEL',
      'SUBSCRIPTION_CANCEL',
      'SUBSCRIPTION_CANCEL',
      'ENTITLEMENT_CANCEL',
    ]);
    expect(callback.of('SUBSCRIPTION_CANCEL').map((r) => meta(r).actionType)).toEqual([
      'REQUESTED',
      'REQUESTED',
      'EFFECTIVE',
    ]);
    expect((await kb('GET', `/1.0/kb/subscriptions/${subscriptionId}`)).json()).toMatchObject({
      state: 'CANCELLED',
    });
    expect((await kb('DELETE', cancelPath)).json()).toMatchObject({ code: 1031 });
    const bundles = (await kb('GET', '/1.0/kb/bundles?externalKey=instance-1')).json<unknown[]>();
    expect(bundles).toHaveLength(0);
    // no renewal invoice after the cancellation
    expect((await kb('GET', `/1.0/kb/accounts/${accountId}/invoices`)).json<unknown[]>()).toHaveLength(2);
  });

  it('bills a plan without trial at once, auto-pays with a default external payment method, changes plan immediately', async () => {
    const kb = await bootstrapTenant();
    await kb('POST', '/1.0/kb/test/clock?requestedDate=2025-03-01');
    const accountId =
      (await kb('POST', '/1.0/kb/accounts', { body: { externalKey: 't-1', currency: 'USD' } })).location
        ?.split('/')
        .pop() ?? '';
    const pm = await kb('POST', `/1.0/kb/accounts/${accountId}/paymentMethods?isDefault=true`, {
      body: { pluginName: '__EXTERNAL_PAYMENT__' },
    });
    expect(pm.location).toMatch(new RegExp(`/1\\.0/kb/paymentMethods/${UUID_RE.source}$`));
    await emulator.waitForIdle();
    callback.clear();
    const subscriptionId =
      (
        await kb('POST', '/1.0/kb/subscriptions', { body: { accountId, planName: 'basic-immediate' } })
      ).location
        ?.split('/')
        .pop() ?? '';
    await emulator.waitForIdle();
    expect(callback.types()).toEqual([
      'ACCOUNT_CHANGE',
      'ENTITLEMENT_CREATION',
      'SUBSCRIPTION_CREATION',
      'SUBSCRIPTION_CREATION',
      'INVOICE_CREATION',
      'INVOICE_PAYMENT_SUCCESS',
      'PAYMENT_SUCCESS',
    ]);
    expect(meta(callback.of('PAYMENT_SUCCESS')[0])).toMatchObject({
      amount: 5,
      status: 'SUCCESS',
      transactionType: 'PURCHASE',
    });

    callback.clear();
    await kb('PUT', '/1.0/kb/test/clock?days=14');
    expect(
      (await kb('PUT', `/1.0/kb/subscriptions/${subscriptionId}`, { body: { planName: 'standard-monthly' } }))
        .status,
    ).toBe(204);
    await emulator.waitForIdle();
    expect(callback.types()).toEqual([
      'SUBSCRIPTION_CHANGE',
      'SUBSCRIPTION_CHANGE',
      'INVOICE_CREATION',
      'INVOICE_PAYMENT_SUCCESS',
      'PAYMENT_SUCCESS',
    ]);
    const invoice = (
      await kb('GET', `/1.0/kb/invoices/${callback.of('INVOICE_CREATION')[0].payload.objectId ?? ''}`)
    ).json<{
      amount: number;
      items: { itemType: string; amount: number }[];
    }>();
    // 17 of 31 days left: -2.74 repair of the old plan, +5.48 of the new one
    expect(invoice.items.map((i) => [i.itemType, i.amount])).toEqual([
      ['REPAIR_ADJ', -2.74],
      ['RECURRING', 5.48],
    ]);
    expect((await kb('GET', `/1.0/kb/subscriptions/${subscriptionId}`)).json()).toMatchObject({
      planName: 'standard-monthly',
    });
  });

  it('retries a failing callback on the retry schedule, then drops the notification', async () => {
    await emulator.stop();
    emulator = new KillBillEmulator({ retrySchedule: [50, 100, 150] });
    ({ url } = await emulator.start());
    callback.status = () => 500;
    const admin = client(url);
    await admin('POST', '/1.0/kb/tenants', { body: { apiKey: 'r', apiSecret: 's' } });
    const kb = client(url, { apiKey: 'r', apiSecret: 's' });
    await kb('POST', `/1.0/kb/tenants/registerNotificationCallback?cb=${encodeURIComponent(callbackUrl)}`);

    await emulator.waitForIdle();
    expect(emulator.deliveries()[0].status).toBe('RETRY_SCHEDULED');
    await emulator.waitForIdle({ includeRetries: true });
    const [delivery] = emulator.deliveries();
    expect(delivery.status).toBe('DROPPED');
    expect(delivery.attempts.map((a) => a.statusCode)).toEqual([500, 500, 500, 500]);
    expect(callback.received).toHaveLength(4);
    expect(new Set(callback.received.map((r) => r.raw)).size).toBe(1);
    const started = delivery.attempts.map((a) => Date.parse(a.startedAt));
    const gaps = started.slice(1).map((t, i) => t - started[i]);
    gaps.forEach((gap, i) => expect(gap).toBeGreaterThanOrEqual([50, 100, 150][i] - 5));
    expect(emulator.stats()).toMatchObject({ dropped: 1, delivered: 0, attempts: 4, failedAttempts: 4 });

    // a callback that recovers gets the retry
    callback.clear();
    callback.status = (n) => (n === 1 ? 503 : 200);
    await kb('POST', '/1.0/kb/accounts', { body: { externalKey: 'x', currency: 'USD' } });
    await emulator.waitForIdle({ includeRetries: true });
    const recovered = emulator.deliveries({ eventType: 'ACCOUNT_CREATION' })[0];
    expect(recovered.status).toBe('DELIVERED');
    expect(recovered.attempts.map((a) => a.statusCode)).toEqual([503, 200]);
  });

  it('honours a per-tenant retry schedule (scaled: 1 minute = 1 ms)', async () => {
    callback.status = () => 500;
    const admin = client(url);
    await admin('POST', '/1.0/kb/tenants', { body: { apiKey: 'p', apiSecret: 's' } });
    const kb = client(url, { apiKey: 'p', apiSecret: 's' });
    const perTenant = await kb('POST', '/1.0/kb/tenants/uploadPerTenantConfig', {
      body: { 'org.killbill.billing.server.notifications.retries': '1m,2m' },
    });
    expect(perTenant.location).toBe(`${url}/1.0/kb/tenants/uploadPerTenantConfig`);
    await kb('POST', `/1.0/kb/tenants/registerNotificationCallback?cb=${encodeURIComponent(callbackUrl)}`);
    await emulator.waitForIdle({ includeRetries: true });
    const [delivery] = emulator.deliveries();
    expect(delivery).toMatchObject({ status: 'DROPPED', retrySchedule: [1, 2] });
    expect(delivery.attempts).toHaveLength(3);
  });

  it('can pause, duplicate and reorder deliveries for tests', async () => {
    await emulator.stop();
    emulator = new KillBillEmulator({ duplicate: true, shuffle: true, pushConcurrency: 4, seed: 7 });
    ({ url } = await emulator.start());
    const admin = client(url);
    await admin('POST', '/1.0/kb/tenants', { body: { apiKey: 'd', apiSecret: 's' } });
    const kb = client(url, { apiKey: 'd', apiSecret: 's' });
    await kb('POST', `/1.0/kb/tenants/registerNotificationCallback?cb=${encodeURIComponent(callbackUrl)}`);
    await emulator.waitForIdle();
    emulator.pausePushDelivery();
    callback.clear();
    for (let i = 0; i < 5; i++)
      await kb('POST', '/1.0/kb/accounts', { body: { externalKey: `k${i}`, currency: 'USD' } });
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(callback.received).toHaveLength(0);
    expect(emulator.stats().queued).toBe(10);
    emulator.resumePushDelivery();
    await emulator.waitForIdle();
    expect(callback.received).toHaveLength(10);
    const ids = callback.received.map((r) => r.payload.objectId);
    expect(new Set(ids).size).toBe(5);
    expect(emulator.deliveries({ eventType: 'ACCOUNT_CREATION' }).filter((d) => d.duplicate)).toHaveLength(5);
  });
});
