/**
 * The Kill Bill push receiver: authentication, durable storage, duplicates, Kill Bill's h2c upgrade offer,
 * and the asynchronous processing with retries and crash recovery.
 */
import http from 'node:http';
import { randomUUID } from 'node:crypto';
import { KillBillEmulator } from '../../../libs/testing/src/killbill-emulator';
import { InboxRepository } from '../src/webhooks/inbox.repository';
import {
  billingEnv,
  BillingUnderTest,
  freePort,
  internalHeaders,
  resetBillingDatabase,
  startBilling,
  waitFor,
  WEBHOOK_SECRET,
} from './support/billing-harness';
import { InternalApiStandIn } from './support/internal-api-stand-in';

const PATH = '/api/billing/webhooks/killbill';

interface InboxRowView {
  status: string;
  attempts: number;
  duplicates: number;
  outcome: string | null;
  last_error: string | null;
  body: string;
}

describe('Kill Bill push receiver', () => {
  const kb = new KillBillEmulator({ clockMode: 'frozen', initialTime: '2025-03-01T10:00:00Z' });
  const services = new InternalApiStandIn(process.env.INTERNAL_API_TOKEN ?? '');
  let billing: BillingUnderTest;

  const rows = async (): Promise<InboxRowView[]> =>
    (await billing.dataSource.query(
      `SELECT status, attempts, duplicates, outcome, last_error, body FROM killbill_inbox ORDER BY id`,
    )) as InboxRowView[];
  const rowFor = async (body: string): Promise<InboxRowView | undefined> =>
    (
      (await billing.dataSource.query(
        `SELECT status, attempts, duplicates, outcome, last_error, body FROM killbill_inbox WHERE body_sha256 = $1`,
        [InboxRepository.hash(body)],
      )) as InboxRowView[]
    )[0];
  const post = (body: string, url = `${PATH}?token=${WEBHOOK_SECRET}`) =>
    billing.harness.request({
      method: 'POST',
      url,
      payload: body,
      headers: { 'content-type': 'application/json; charset=UTF-8', 'user-agent': 'KillBill/1.0' },
    });

  beforeAll(async () => {
    await resetBillingDatabase();
    await kb.start();
    await services.start();
    const callbackPort = await freePort();
    billing = await startBilling(
      billingEnv({
        killbillUrl: kb.url,
        servicesUrl: services.url,
        callbackPort,
        overrides: { BILLING_RECONCILE_INTERVAL_SECONDS: '1' },
      }),
      callbackPort,
    );
    await waitFor(
      async () => (await billing.harness.request({ method: 'GET', url: '/health/ready' })).statusCode === 200,
      'billing ready',
    );
    await kb.waitForIdle();
    await billing.drain();
  });
  afterAll(async () => {
    await billing.close();
    await services.stop();
    await kb.stop();
  });

  it('refuses a missing or wrong token with 401 and stores nothing', async () => {
    const before = (await rows()).length;
    const body = JSON.stringify({
      eventType: 'SUBSCRIPTION_CANCEL',
      accountId: randomUUID(),
      objectType: 'SUBSCRIPTION',
      objectId: randomUUID(),
      metaData: '{"actionType":"EFFECTIVE"}',
    });
    for (const url of [
      PATH,
      `${PATH}?token=`,
      `${PATH}?token=wrong-token`,
      `${PATH}?token=${WEBHOOK_SECRET}x`,
    ]) {
      const res = await post(body, url);
      expect(res.statusCode).toBe(401);
      expect(res.json()).toMatchObject({
        statusCode: 401,
        code: 'WEBHOOK_TOKEN_INVALID',
        request_id: expect.any(String),
      });
    }
    const inHeader = await billing.harness.request({
      method: 'POST',
      url: PATH,
      payload: body,
      headers: {
        'content-type': 'application/json',
        'x-token': WEBHOOK_SECRET,
        authorization: WEBHOOK_SECRET,
      },
    });
    expect(inHeader.statusCode).toBe(401);
    expect(await rows()).toHaveLength(before);
  });

  it('stores the raw body and answers 200; the same body again is acknowledged and dropped', async () => {
    const body = `{"eventType":"TAG_CREATION","accountId":"${randomUUID()}","objectType":"TAG","objectId":"${randomUUID()}","metaData":"{\\"tagDefinitionName\\":\\"AUTO_PAY_OFF\\"}"}`;
    const first = await post(body);
    expect(first.statusCode).toBe(200);
    expect(first.json()).toEqual({ status: 'stored' });
    const second = await post(body);
    expect(second.statusCode).toBe(200);
    expect(second.json()).toEqual({ status: 'duplicate' });
    await billing.drain();
    expect(await rowFor(body)).toMatchObject({
      body,
      duplicates: 1,
      status: 'ignored',
      outcome: 'no_action:TAG_CREATION',
    });
  });

  it('stores concurrent copies of one notification once: one "stored", the others "duplicate"', async () => {
    const body = JSON.stringify({
      eventType: 'CUSTOM_FIELD_CREATION',
      accountId: randomUUID(),
      objectType: 'CUSTOM_FIELD',
      objectId: randomUUID(),
      metaData: null,
    });
    const answers = await Promise.all(Array.from({ length: 8 }, () => post(body)));
    expect(answers.map((a) => a.statusCode)).toEqual(Array(8).fill(200));
    const statuses = answers.map((a) => a.json<{ status: string }>().status).sort();
    expect(statuses).toEqual([
      'duplicate',
      'duplicate',
      'duplicate',
      'duplicate',
      'duplicate',
      'duplicate',
      'duplicate',
      'stored',
    ]);
    expect(await rowFor(body)).toMatchObject({ duplicates: 7 });
  });

  it('answers a request carrying the JDK h2c upgrade offer like any other (no upgrade listener)', async () => {
    const server = billing.harness.app.getHttpServer();
    expect(server.listenerCount('upgrade')).toBe(0);
    // Exactly what Kill Bill's java.net.http client sends on an http:// callback (contract §2.6).
    const body = `{"eventType":"ACCOUNT_CHANGE","accountId":"${randomUUID()}","objectType":"ACCOUNT","objectId":"${randomUUID()}","metaData":null}`;
    const answer = await new Promise<{ status: number; text: string }>((resolve, reject) => {
      const request = http.request(
        `${billing.url}${PATH}?token=${encodeURIComponent(WEBHOOK_SECRET)}`,
        {
          method: 'POST',
          headers: {
            Connection: 'Upgrade, HTTP2-Settings',
            Upgrade: 'h2c',
            'HTTP2-Settings': 'AAEAAEAAAAIAAAABAAMAAABkAAQBAAAAAAUAAEAA',
            'Content-Type': 'application/json; charset=UTF-8',
            'User-Agent': 'KillBill/1.0',
            'Content-Length': Buffer.byteLength(body),
          },
          timeout: 3000,
        },
        (response) => {
          let text = '';
          response.on('data', (chunk: Buffer) => (text += chunk.toString()));
          response.on('end', () => resolve({ status: response.statusCode ?? 0, text }));
        },
      );
      request.on('timeout', () =>
        request.destroy(new Error('no answer: the request went to an upgrade path')),
      );
      request.on('error', reject);
      request.end(body);
    });
    expect(answer).toEqual({ status: 200, text: JSON.stringify({ status: 'stored' }) });
    expect((await rowFor(body))?.body).toBe(body);
  });

  it("is what the emulator's h2c-offering deliveries reach (every push answered 2xx at the first attempt)", () => {
    const deliveries = kb.deliveries();
    expect(deliveries.length).toBeGreaterThan(0);
    for (const d of deliveries) {
      expect(d.status).toBe('DELIVERED');
      expect(d.attempts[0].statusCode).toBe(200);
    }
  });

  it('refuses an empty body with 400 (Kill Bill retries it)', async () => {
    const res = await billing.harness.request({ method: 'POST', url: `${PATH}?token=${WEBHOOK_SECRET}` });
    expect(res.statusCode).toBe(400);
    expect(res.json()).toMatchObject({ code: 'EMPTY_NOTIFICATION' });
  });

  it('never trusts the body: garbage and notifications about unknown objects change nothing', async () => {
    const garbage = 'this is not json';
    const forged = JSON.stringify({
      eventType: 'SUBSCRIPTION_CANCEL',
      accountId: randomUUID(),
      objectType: 'SUBSCRIPTION',
      objectId: randomUUID(),
      metaData: '{"actionType":"EFFECTIVE","bundleExternalKey":"x","subscriptionChangeUndo":false}',
    });
    const overdue = JSON.stringify({
      eventType: 'OVERDUE_CHANGE',
      accountId: randomUUID(),
      objectType: 'ACCOUNT',
      objectId: randomUUID(),
      metaData: null,
    });
    for (const body of [garbage, forged, overdue]) expect((await post(body)).statusCode).toBe(200);
    await billing.drain();
    expect(await rowFor(garbage)).toMatchObject({ status: 'ignored', outcome: 'not_a_notification' });
    expect(await rowFor(forged)).toMatchObject({ status: 'ignored', outcome: 'unknown_object' });
    expect(await rowFor(overdue)).toMatchObject({ status: 'ignored', outcome: 'unknown_object' });
    expect(services.callsTo(/desired-state/)).toEqual([]);
  });

  describe('processing', () => {
    const tenantId = randomUUID();
    const customerId = randomUUID();
    let instanceId: string;
    let subscriptionId: string;

    beforeAll(async () => {
      kb.pausePushDelivery(); // only what the tests post reaches the receiver
      services.addMember(customerId, tenantId);
      instanceId = services.addInstance(tenantId).id;
      const res = await billing.harness.request({
        method: 'POST',
        url: '/internal/subscriptions',
        headers: internalHeaders(),
        payload: {
          tenant_id: tenantId,
          instance_id: instanceId,
          customer_id: customerId,
          plan_name: 'basic-monthly',
        },
      });
      expect(res.statusCode).toBe(201);
      subscriptionId = res.json<{ subscription_id: string }>().subscription_id;
    });
    afterAll(() => kb.resumePushDelivery());

    const creation = () =>
      kb
        .events({ eventType: 'SUBSCRIPTION_CREATION' })
        .map((e) => JSON.stringify(e.payload))
        .find((b) => b.includes(subscriptionId) && b.includes('EFFECTIVE')) ?? '';

    it('retries with backoff while instance-service is down, then applies the entitlement', async () => {
      services.unavailable = true;
      const body = creation();
      expect((await post(body)).statusCode).toBe(200);
      const failing = await waitFor(async () => {
        const row = await rowFor(body);
        return row && row.attempts >= 2 && row.status === 'pending' ? row : undefined;
      }, 'two failed attempts');
      expect(failing.last_error).toMatch(/answered 503/);
      services.unavailable = false;
      const done = await waitFor(async () => {
        const row = await rowFor(body);
        return row?.status === 'processed' ? row : undefined;
      }, 'processing after instance-service came back');
      expect(done.outcome).toBe('synced:SUBSCRIPTION_CREATION');
      expect(services.instances.get(instanceId)).toMatchObject({
        status: 'running',
        desired_state: 'running',
      });
    });

    it('picks up a notification a crashed replica had claimed once its lease has expired', async () => {
      const body = JSON.stringify({
        eventType: 'SUBSCRIPTION_PHASE',
        accountId: null,
        objectType: 'SUBSCRIPTION',
        objectId: subscriptionId,
        metaData: '{"actionType":"EFFECTIVE","bundleExternalKey":null,"subscriptionChangeUndo":false}',
      });
      await billing.dataSource.query(
        `INSERT INTO killbill_inbox (body_sha256, body, event_type, status, attempts, locked_until)
         VALUES ($1, $2, 'SUBSCRIPTION_PHASE', 'processing', 1, now() - interval '1 second')`,
        [InboxRepository.hash(body), body],
      );
      await billing.drain();
      expect(await rowFor(body)).toMatchObject({ status: 'processed', attempts: 2 });
    });

    it('the periodic reconciliation applies what no notification announced', async () => {
      expect(services.instances.get(instanceId)?.status).toBe('running');
      kb.advance(28); // trial over, then 14 days unpaid: BLOCKED (and no push reaches the receiver)
      await waitFor(
        () => services.instances.get(instanceId)?.status === 'suspended',
        'the reconciliation timer to suspend the instance',
        5_000,
      );
    });

    it('reports the inbox to admins only through the guarded route', async () => {
      const res = await billing.harness.request({ method: 'GET', url: '/admin/billing/inbox' });
      expect(res.statusCode).toBe(401);
    });
  });
});
