/**
 * The hand-written Kill Bill client against the Kill Bill emulator (a test double following
 * reference/killbill-contract.md), plus small misbehaving servers for timeouts and retries.
 */
import http from 'node:http';
import { AddressInfo } from 'node:net';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { KillBillEmulator } from '../../../libs/testing/src/killbill-emulator';
import { KillBillClient, KillBillSettings } from '../src/killbill/killbill.client';
import {
  KillBillAuthError,
  KillBillBadRequestError,
  KillBillConflictError,
  KillBillNotFoundError,
  KillBillServerError,
  KillBillUnavailableError,
} from '../src/killbill/killbill.errors';
import { KB_CONTROL_TAGS } from '../src/killbill/killbill.types';
import { REPO_ROOT } from './support/billing-harness';

const catalogXml = readFileSync(resolve(REPO_ROOT, 'infrastructure/killbill/catalog.xml'), 'utf8');
const overdueXml = readFileSync(resolve(REPO_ROOT, 'infrastructure/killbill/overdue.xml'), 'utf8');

function settings(url: string, overrides: Partial<KillBillSettings> = {}): KillBillSettings {
  return {
    url,
    username: 'admin',
    password: 'password',
    apiKey: 'client-test',
    apiSecret: 'client-test-secret',
    createdBy: 'billing-test',
    timeoutMs: 2000,
    retries: 2,
    retryDelayMs: 5,
    ...overrides,
  };
}

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error('expected a rejection');
}

describe('KillBillClient against the Kill Bill emulator', () => {
  const kb = new KillBillEmulator({ clockMode: 'frozen', initialTime: '2025-03-01T10:00:00Z' });
  let client: KillBillClient;

  beforeAll(async () => {
    const { url } = await kb.start();
    client = new KillBillClient(settings(url));
  });
  afterAll(async () => {
    client.close();
    await kb.stop();
  });

  it('creates the tenant once (500 "unknown key" read as missing, 409 as a typed conflict)', async () => {
    expect(await client.findTenantByApiKey('client-test')).toBeNull();
    const id = await client.createTenant({ apiKey: 'client-test', apiSecret: 'client-test-secret' });
    expect(id).toMatch(/^[0-9a-f-]{36}$/);
    expect(await rejection(client.createTenant({ apiKey: 'client-test', apiSecret: 'x' }))).toBeInstanceOf(
      KillBillConflictError,
    );
    expect(await client.findTenantByApiKey('client-test')).toMatchObject({
      tenantId: id,
      apiKey: 'client-test',
    });
    expect(await client.healthcheck()).toBe(true);
  });

  it('uploads the catalog and overdue config, refuses a second catalog with the same effectiveDate', async () => {
    expect(await client.validateCatalogXml(catalogXml)).toEqual([]);
    await client.uploadCatalogXml(catalogXml);
    const versions = await client.getCatalogVersions();
    expect(versions.map((v) => Date.parse(v))).toContain(Date.parse('2025-01-01T00:00:00Z'));
    const second = await rejection(client.uploadCatalogXml(catalogXml));
    expect(second).toBeInstanceOf(KillBillBadRequestError);
    expect((second as KillBillBadRequestError).failure.code).toBe(2080);

    const catalog = await client.getCatalog();
    const plans = catalog[catalog.length - 1].products.flatMap((p) => p.plans.map((plan) => plan.name));
    expect(plans.sort()).toEqual([
      'basic-immediate',
      'basic-monthly',
      'basic-test-trial',
      'premium-monthly',
      'standard-monthly',
    ]);
    expect(await client.getCatalogXml()).toContain('SaasOdoo');

    await client.uploadOverdueXml(overdueXml);
    const overdue = await client.getOverdueConfig();
    expect((overdue.overdueStates ?? []).map((s) => s.name)).toEqual(['CANCELLATION', 'BLOCKED', 'WARNING']);
    expect(await client.getOverdueXml()).toContain('BLOCKED');
  });

  it('registers, reads and deletes the push callback', async () => {
    const cb = 'http://127.0.0.1:9/api/billing/webhooks/killbill?token=abc';
    await client.registerNotificationCallback(cb);
    expect(await client.getNotificationCallbacks()).toEqual([cb]);
    await client.deleteNotificationCallback();
    expect(await client.getNotificationCallbacks()).toEqual([]);
  });

  it('manages accounts by externalKey, with typed 404/409', async () => {
    const accountId = await client.createAccount({ externalKey: 'tenant-1', name: 'T1', currency: 'USD' });
    expect(await client.findAccountByExternalKey('tenant-1')).toMatchObject({ accountId, currency: 'USD' });
    expect(await client.findAccountByExternalKey('nobody')).toBeNull();
    const duplicate = await rejection(
      client.createAccount({ externalKey: 'tenant-1', name: 'T', currency: 'USD' }),
    );
    expect(duplicate).toBeInstanceOf(KillBillConflictError);
    expect((duplicate as KillBillConflictError).failure.code).toBe(3000);
    expect(await rejection(client.getAccount('00000000-0000-4000-8000-000000000000'))).toBeInstanceOf(
      KillBillNotFoundError,
    );
    await client.addAccountTags(accountId, [KB_CONTROL_TAGS.AUTO_PAY_OFF]);
    expect((await client.getAccountTags(accountId)).map((t) => t.tagDefinitionName)).toEqual([
      'AUTO_PAY_OFF',
    ]);
    await client.removeAccountTags(accountId, [KB_CONTROL_TAGS.AUTO_PAY_OFF]);
    expect(await client.getAccountTags(accountId)).toEqual([]);
  });

  it('runs a subscription through trial, invoice, external payment, change, cancel and uncancel', async () => {
    const accountId = await client.createAccount({ externalKey: 'tenant-2', name: 'T2', currency: 'USD' });
    const subscriptionId = await client.createSubscription({
      accountId,
      planName: 'basic-monthly',
      bundleExternalKey: 'instance-2',
    });
    let subscription = await client.getSubscription(subscriptionId);
    expect(subscription).toMatchObject({
      state: 'ACTIVE',
      phaseType: 'TRIAL',
      bundleExternalKey: 'instance-2',
    });
    const [bundle] = await client.getBundlesByExternalKey('instance-2');
    expect(bundle.subscriptions?.[0].subscriptionId).toBe(subscriptionId);
    expect((await client.getBundle(bundle.bundleId)).externalKey).toBe('instance-2');
    expect(await client.getBundlesByExternalKey('no-such-instance')).toEqual([]);

    // Trial change is IMMEDIATE in the catalog.
    await client.changePlan(subscriptionId, 'standard-monthly');
    expect((await client.getSubscription(subscriptionId)).planName).toBe('standard-monthly');

    const clock = await client.advanceClock({ days: 15 });
    expect(clock.localDate).toBe('2025-03-16');
    subscription = await client.getSubscription(subscriptionId);
    expect(subscription.phaseType).toBe('EVERGREEN');
    const invoices = await client.getAccountInvoices(accountId);
    const unpaid = invoices.find((i) => (i.balance ?? 0) > 0);
    expect(unpaid?.amount).toBe(8);
    expect((await client.getInvoice(unpaid!.invoiceId)).items?.length).toBeGreaterThan(0);

    const paymentId = await client.createExternalPayment(unpaid!.invoiceId, {
      accountId,
      amount: 8,
      paymentExternalKey: 'gateway-ref-1',
    });
    expect(paymentId).toMatch(/^[0-9a-f-]{36}$/); // from ".../invoicePayments/{id}/" (trailing slash)
    expect(await client.createExternalPayment(unpaid!.invoiceId, { accountId })).toBeNull(); // 204: nothing to pay
    expect((await client.getInvoicePayments(unpaid!.invoiceId))[0].paymentId).toBe(paymentId);
    expect((await client.getAccountOverdueState(accountId)).name).toBe('__KILLBILL__CLEAR__OVERDUE_STATE__');

    await client.cancelSubscription(subscriptionId, {
      entitlementPolicy: 'END_OF_TERM',
      billingPolicy: 'END_OF_TERM',
    });
    expect((await client.getSubscription(subscriptionId)).cancelledDate).toBeTruthy();
    await client.uncancelSubscription(subscriptionId);
    const again = await rejection(client.uncancelSubscription(subscriptionId));
    expect(again).toBeInstanceOf(KillBillServerError);
    expect((again as KillBillServerError).failure.code).toBe(1070);

    const bothPolicies = await rejection(
      client.changePlan(subscriptionId, 'premium-monthly', {
        billingPolicy: 'IMMEDIATE',
        requestedDate: '2025-04-01',
      }),
    );
    expect(bothPolicies).toBeInstanceOf(KillBillBadRequestError);
    expect((await client.setClock('2025-03-20')).localDate).toBe('2025-03-20');
    expect((await client.getClock()).localDate).toBe('2025-03-20');
  });

  it('sends basic auth and tenant headers on every call and X-Killbill-CreatedBy on every write', () => {
    const requests = kb.requestLog().filter((r) => r.path.startsWith('/1.0/kb'));
    expect(requests.length).toBeGreaterThan(20);
    for (const r of requests) {
      expect(r.headers.authorization).toBe(`Basic ${Buffer.from('admin:password').toString('base64')}`);
      if (r.path !== '/1.0/kb/tenants') {
        expect(r.headers['x-killbill-apikey']).toBe('client-test');
        expect(r.headers['x-killbill-apisecret']).toBe('client-test-secret');
      }
      if (r.method !== 'GET') expect(r.headers['x-killbill-createdby']).toBe('billing-test');
    }
  });

  it('maps wrong credentials and wrong tenant secrets to KillBillAuthError', async () => {
    const wrongPassword = new KillBillClient(settings(kb.url, { password: 'nope' }));
    const wrongSecret = new KillBillClient(settings(kb.url, { apiSecret: 'nope' }));
    try {
      expect(await rejection(wrongPassword.getCatalogVersions())).toBeInstanceOf(KillBillAuthError);
      expect(await rejection(wrongSecret.getCatalogVersions())).toBeInstanceOf(KillBillAuthError);
    } finally {
      wrongPassword.close();
      wrongSecret.close();
    }
  });
});

describe('KillBillClient timeouts and retries', () => {
  let server: http.Server;
  let url = '';
  const hits: string[] = [];
  let failuresLeft = 0;

  beforeAll(async () => {
    server = http.createServer((req, res) => {
      hits.push(`${req.method} ${req.url}`);
      if (req.url?.startsWith('/1.0/kb/hang')) return; // never answers
      if (failuresLeft > 0) {
        failuresLeft--;
        res.writeHead(503).end();
        return;
      }
      if (req.method === 'GET') {
        res.writeHead(200, { 'content-type': 'application/json' }).end('["2025-01-01T00:00:00.000Z"]');
      } else {
        res.writeHead(503).end();
      }
    });
    await new Promise<void>((ok) => server.listen(0, '127.0.0.1', () => ok()));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise<void>((ok) => server.close(() => ok()));
  });
  beforeEach(() => {
    hits.length = 0;
  });

  it('retries an idempotent GET after 503s and succeeds', async () => {
    const client = new KillBillClient(settings(url));
    failuresLeft = 2;
    expect(await client.getCatalogVersions()).toEqual(['2025-01-01T00:00:00.000Z']);
    expect(hits).toHaveLength(3);
    client.close();
  });

  it('never retries a create (its outcome is unknown) and reports Kill Bill unavailable', async () => {
    const client = new KillBillClient(settings(url));
    failuresLeft = 0;
    const error = await rejection(client.createAccount({ externalKey: 'k', name: 'n', currency: 'USD' }));
    expect(error).toBeInstanceOf(KillBillUnavailableError);
    expect(hits).toEqual(['POST /1.0/kb/accounts']);
    client.close();
  });

  it('gives up on a call that does not answer within the timeout (each attempt bounded)', async () => {
    // Every path under /1.0/kb/hang is accepted and never answered.
    const client = new KillBillClient(settings(`${url}/1.0/kb/hang`, { timeoutMs: 150, retries: 1 }));
    const started = Date.now();
    const error = await rejection(client.getCatalogVersions());
    expect(error).toBeInstanceOf(KillBillUnavailableError);
    expect((error as KillBillUnavailableError).failure.message).toMatch(/timed out after 150 ms/);
    expect(hits).toHaveLength(2);
    expect(Date.now() - started).toBeLessThan(1500);
    client.close();
  });

  it('reports a refused connection as unavailable', async () => {
    const client = new KillBillClient(settings('http://127.0.0.1:1', { retries: 0 }));
    expect(await rejection(client.getCatalogVersions())).toBeInstanceOf(KillBillUnavailableError);
    client.close();
  });
});
