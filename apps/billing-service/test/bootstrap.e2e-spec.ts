/**
 * Bootstrap of the Kill Bill side at start: tenant, catalog, overdue config and push callback, each only when
 * missing or changed; Kill Bill down at start never blocks liveness; BILLING_PROVIDER=none needs no Kill Bill.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { KillBillEmulator } from '../../../libs/testing/src/killbill-emulator';
import {
  billingEnv,
  BillingUnderTest,
  freePort,
  internalHeaders,
  KB_API_KEY,
  REPO_ROOT,
  resetBillingDatabase,
  startBilling,
  waitFor,
  WEBHOOK_SECRET,
} from './support/billing-harness';

interface ReadyBody {
  status: string;
  checks: Record<string, { status: string; error?: string; provider?: string }>;
}

async function readiness(billing: BillingUnderTest) {
  const res = await billing.harness.request({ method: 'GET', url: '/health/ready' });
  return { status: res.statusCode, body: res.json<ReadyBody>() };
}

function writes(kb: KillBillEmulator) {
  return kb
    .requestLog()
    .filter((r) => r.method !== 'GET')
    .map((r) => `${r.method} ${r.path}`);
}

describe('Kill Bill bootstrap', () => {
  const kb = new KillBillEmulator({ clockMode: 'frozen', initialTime: '2025-03-01T10:00:00Z' });
  let callbackPort: number;
  let billing: BillingUnderTest | undefined;
  const tmp = mkdtempSync(join(tmpdir(), 'billing-bootstrap-'));

  beforeAll(async () => {
    await resetBillingDatabase();
    await kb.start();
    callbackPort = await freePort();
  });
  afterEach(async () => {
    await billing?.close();
    billing = undefined;
  });
  afterAll(async () => {
    await kb.stop();
    rmSync(tmp, { recursive: true, force: true });
  });

  it('first start: creates the tenant, uploads catalog and overdue, registers the callback with the token', async () => {
    billing = await startBilling(billingEnv({ killbillUrl: kb.url, callbackPort }), callbackPort);
    await waitFor(async () => (await readiness(billing!)).status === 200, 'readiness');
    expect((await readiness(billing)).body.checks.killbill).toMatchObject({
      status: 'up',
      provider: 'killbill',
    });

    expect(writes(kb)).toEqual([
      'POST /1.0/kb/tenants',
      'POST /1.0/kb/catalog/xml',
      'POST /1.0/kb/overdue/xml',
      'POST /1.0/kb/tenants/registerNotificationCallback',
    ]);
    const tenant = [...kb.engine.tenants.values()].find((t) => t.apiKey === KB_API_KEY);
    expect(tenant?.kv.get('PUSH_NOTIFICATION_CB')?.values).toEqual([
      `http://127.0.0.1:${callbackPort}/api/billing/webhooks/killbill?token=${WEBHOOK_SECRET}`,
    ]);
    // Kill Bill announces the callback registration to the callback itself: it must be accepted and stored.
    await kb.waitForIdle();
    await waitFor(
      () => kb.deliveries({ eventType: 'TENANT_CONFIG_CHANGE', status: 'DELIVERED' }).length > 0,
      'TENANT_CONFIG_CHANGE delivered',
    );
    await billing.drain();
    const [row] = (await billing.dataSource.query(
      `SELECT status, outcome FROM killbill_inbox WHERE event_type = 'TENANT_CONFIG_CHANGE'`,
    )) as { status: string; outcome: string }[];
    expect(row).toEqual({ status: 'ignored', outcome: 'no_action:TENANT_CONFIG_CHANGE' });
  });

  it('a second start uploads nothing and registers nothing', async () => {
    kb.clearLogs();
    billing = await startBilling(billingEnv({ killbillUrl: kb.url, callbackPort }), callbackPort);
    await waitFor(async () => (await readiness(billing!)).status === 200, 'readiness');
    expect(writes(kb)).toEqual([]);
    const tenant = [...kb.engine.tenants.values()].find((t) => t.apiKey === KB_API_KEY);
    expect(tenant?.catalogs.filter((c) => !c.isTemplate)).toHaveLength(1);
  });

  it('uploads again only what changed: an edited overdue file, a catalog version with a later effectiveDate', async () => {
    const overdue = join(tmp, 'overdue.xml');
    const catalog = join(tmp, 'catalog.xml');
    writeFileSync(
      overdue,
      readFileSync(resolve(REPO_ROOT, 'infrastructure/killbill/overdue.xml'), 'utf8').replace(
        '<number>10</number>\n        </timeSinceEarliestUnpaidInvoiceEqualsOrExceeds>',
        '<number>9</number>\n        </timeSinceEarliestUnpaidInvoiceEqualsOrExceeds>',
      ),
    );
    writeFileSync(
      catalog,
      readFileSync(resolve(REPO_ROOT, 'infrastructure/killbill/catalog.xml'), 'utf8').replace(
        '<effectiveDate>2025-01-01T00:00:00+00:00</effectiveDate>',
        '<effectiveDate>2025-02-01T00:00:00+00:00</effectiveDate>',
      ),
    );
    kb.clearLogs();
    billing = await startBilling(
      billingEnv({
        killbillUrl: kb.url,
        callbackPort,
        overrides: { KILLBILL_OVERDUE_FILE: overdue, KILLBILL_CATALOG_FILE: catalog },
      }),
      callbackPort,
    );
    await waitFor(async () => (await readiness(billing!)).status === 200, 'readiness');
    expect(writes(kb)).toEqual(['POST /1.0/kb/catalog/xml', 'POST /1.0/kb/overdue/xml']);
  });

  it('answers /health while Kill Bill is unreachable, reports it in readiness, and bootstraps once it is up', async () => {
    const port = await freePort();
    billing = await startBilling(
      billingEnv({ killbillUrl: `http://127.0.0.1:${port}`, callbackPort }),
      callbackPort,
    );
    const live = await billing.harness.request({ method: 'GET', url: '/health' });
    expect(live.statusCode).toBe(200);
    const notReady = await waitFor(async () => {
      const r = await readiness(billing!);
      return r.body.checks.killbill?.error?.includes('bootstrap failing') ? r : undefined;
    }, 'readiness reporting the failed bootstrap');
    expect(notReady.status).toBe(503);
    expect(notReady.body.checks).toMatchObject({ database: { status: 'up' }, killbill: { status: 'down' } });

    const late = new KillBillEmulator({ clockMode: 'frozen' });
    await late.start(port);
    try {
      await waitFor(
        async () => (await readiness(billing!)).status === 200,
        'readiness after Kill Bill came up',
      );
      expect([...late.engine.tenants.values()].map((t) => t.apiKey)).toEqual([KB_API_KEY]);
    } finally {
      await billing.close();
      billing = undefined;
      await late.stop();
    }
  });

  it('runs without Kill Bill when BILLING_PROVIDER=none: plans from the database, instances entitled at once', async () => {
    kb.clearLogs();
    billing = await startBilling(
      billingEnv({ killbillUrl: kb.url, callbackPort, overrides: { BILLING_PROVIDER: 'none' } }),
      callbackPort,
    );
    const ready = await readiness(billing);
    expect(ready.status).toBe(200);
    expect(ready.body.checks.killbill).toMatchObject({ status: 'up', provider: 'none' });

    const plans = await billing.harness.request({ method: 'GET', url: '/api/billing/plans' });
    expect(plans.statusCode).toBe(200);
    expect(plans.json<{ plans: { name: string; price: null; entitlements: object }[] }>().plans).toEqual(
      expect.arrayContaining([
        expect.objectContaining({
          name: 'premium-monthly',
          price: null,
          trial_length: 0,
          entitlements: { cpu_limit: 4, memory_limit: '8G', storage_limit: '50G' },
        }),
      ]),
    );
    const body = {
      tenant_id: '6f1c1d9e-0f43-4b1f-9d1e-2a6c4d3b2a10',
      instance_id: '0b7f1d9e-0f43-4b1f-9d1e-2a6c4d3b2a11',
      customer_id: '1c2d3e4f-0f43-4b1f-9d1e-2a6c4d3b2a12',
      plan_name: 'basic-monthly',
    };
    const created = await billing.harness.request({
      method: 'POST',
      url: '/internal/subscriptions',
      headers: internalHeaders(),
      payload: body,
    });
    expect(created.statusCode).toBe(201);
    expect(created.json()).toMatchObject({ instance_id: body.instance_id, entitled: true, state: 'ACTIVE' });
    expect(kb.requestLog()).toEqual([]);
  });
});
