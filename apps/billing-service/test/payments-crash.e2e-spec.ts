/**
 * billing-service is killed (SIGKILL) between "PayNow says paid" and "Kill Bill recorded": after a restart the
 * payment is recorded once. billing-service runs as the built app in its own process (dist/, built by
 * scripts/test.sh); Kill Bill (emulator) sits behind a TCP proxy so it can be made unreachable; PayNow is the
 * emulator; the real user-service issues the tokens.
 */
import { randomBytes } from 'node:crypto';
import { Client } from 'pg';
import {
  adminSql,
  createVerifiedCustomer,
  ServiceHarness,
  serviceTestEnv,
  SmtpSink,
  startService,
  TcpProxy,
  userServiceTestEnv,
} from '@app/testing';
import { KillBillEmulator } from '../../../libs/testing/src/killbill-emulator';
import { PaynowEmulator, PAYNOW_TEST_PHONES } from '../../../libs/testing/src/paynow-emulator';
import { AppModule as UserServiceModule } from '../../user-service/src/app.module';
import { freePort, internalHeaders, waitFor } from './support/billing-harness';
import { BillingProcess, killBilling as kill, spawnBilling } from './support/billing-process';
import { tenantClient } from './support/flow-helpers';
import { InternalApiStandIn } from './support/internal-api-stand-in';
import { paymentsEnv } from './support/payments-world';

/**
 * A database of this spec's own: no other billing app of the test run (each with its own Kill Bill emulator)
 * can claim its settlement rows, so what is recorded where is this spec's alone.
 */
const CRASH_DB = `${serviceTestEnv('billing-service').POSTGRES_DB}_crash_${randomBytes(3).toString('hex')}`;

async function billingDb<T>(sql: string, params: unknown[] = []): Promise<T[]> {
  const env = serviceTestEnv('billing-service');
  const client = new Client({
    host: env.POSTGRES_HOST,
    port: Number(env.POSTGRES_PORT),
    database: CRASH_DB,
    user: env.DB_SERVICE_USER,
    password: env.DB_SERVICE_PASSWORD,
  });
  await client.connect();
  try {
    return (await client.query(sql, params)).rows as T[];
  } finally {
    await client.end();
  }
}

describe('payments survive a crash between "paid" and "recorded in Kill Bill"', () => {
  const smtp = new SmtpSink();
  const kb = new KillBillEmulator({
    clockMode: 'frozen',
    initialTime: '2025-03-01T10:00:00Z',
    retrySchedule: [20, 40],
  });
  const paynow = new PaynowEmulator({ timeScale: 0 });
  const services = new InternalApiStandIn(process.env.INTERNAL_API_TOKEN ?? '');
  let kbProxy: TcpProxy;
  let users: ServiceHarness;
  let billing: BillingProcess | undefined;

  beforeAll(async () => {
    await adminSql(
      `CREATE DATABASE "${CRASH_DB}" OWNER billing_service;
       REVOKE ALL ON DATABASE "${CRASH_DB}" FROM PUBLIC;
       GRANT CONNECT, TEMPORARY ON DATABASE "${CRASH_DB}" TO billing_service;`,
    );
    await smtp.start();
    users = await startService(UserServiceModule, 'user-service', userServiceTestEnv(smtp));
    await users.app.listen(0, '127.0.0.1');
    await kb.start();
    await paynow.start();
    await services.start();
    const kbPort = Number(new URL(kb.url).port);
    kbProxy = new TcpProxy('127.0.0.1', kbPort);
    await kbProxy.start(await freePort());
  }, 60_000);
  afterAll(async () => {
    await kill(billing);
    await kbProxy?.stop();
    await users?.close();
    await services.stop();
    await paynow.stop();
    await kb.stop();
    await smtp.stop();
    await adminSql(`DROP DATABASE IF EXISTS "${CRASH_DB}" WITH (FORCE)`);
  });

  it('records the payment once after a SIGKILL and a restart', async () => {
    const address = users.app.getHttpServer().address();
    const usersUrl = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
    const env = paymentsEnv(
      `http://127.0.0.1:${kbProxy.port}`,
      paynow,
      services.url,
      usersUrl,
      smtp.port,
      await freePort(),
      { BILLING_RECHECK_INTERVAL_SECONDS: '0', POSTGRES_DB: CRASH_DB },
    );
    billing = await spawnBilling(env);
    const customer = await createVerifiedCustomer(users, smtp);
    const tenantId = crypto.randomUUID();
    services.addMember(customer.id, tenantId, 'owner');
    const instance = services.addInstance(tenantId);
    const created = await fetch(`${billing.url}/internal/subscriptions`, {
      method: 'POST',
      headers: { ...internalHeaders(), 'content-type': 'application/json' },
      body: JSON.stringify({
        tenant_id: tenantId,
        instance_id: instance.id,
        customer_id: customer.id,
        plan_name: 'basic-immediate',
      }),
    });
    expect(created.status).toBe(201);
    const kbClient = tenantClient(kb);
    const account = (await kbClient.findAccountByExternalKey(tenantId))!;
    const invoice = (await kbClient.getAccountInvoices(account.accountId)).find((i) => (i.balance ?? 0) > 0)!;
    const auth = { authorization: `Bearer ${customer.access_token}`, 'content-type': 'application/json' };
    const start = await fetch(`${billing.url}/api/billing/payments`, {
      method: 'POST',
      headers: auth,
      body: JSON.stringify({
        invoice_id: invoice.invoiceId,
        method: 'ecocash',
        phone: PAYNOW_TEST_PHONES.paidAfter5s,
      }),
    });
    expect(start.status).toBe(201);
    const payment = (await start.json()) as { id: string };

    // Kill Bill becomes unreachable; PayNow says paid; billing confirms it but cannot record it yet.
    await kbProxy.stop();
    paynow.advance(5_000);
    await waitFor(async () => {
      const [row] = await billingDb<{ status: string; last_error: string | null }>(
        `SELECT p.status, s.last_error FROM payments p JOIN payment_settlements s ON s.payment_id = p.id WHERE p.id = $1`,
        [payment.id],
      );
      return row?.status === 'paid' && row.last_error !== null;
    }, 'paid, with a failed attempt to record it');
    expect(await kbClient.getInvoicePayments(invoice.invoiceId)).toEqual([]);
    await kill(billing);

    await kbProxy.start();
    billing = await spawnBilling(env);
    await waitFor(
      async () =>
        (
          await billingDb<{ recorded_at: Date | null }>(`SELECT recorded_at FROM payments WHERE id = $1`, [
            payment.id,
          ])
        )[0]?.recorded_at,
      'recorded after the restart',
      30_000,
    );
    // Kill Bill lists a payment once its own processing of it ended, a moment after it answered 201.
    const recorded = await waitFor(async () => {
      const keys = (await kbClient.getInvoicePayments(invoice.invoiceId)).map((p) => p.paymentExternalKey);
      return keys.length > 0 ? keys : undefined;
    }, 'the payment listed in Kill Bill');
    expect(recorded).toEqual([payment.id]);
    await waitFor(() => services.instances.get(instance.id)?.status === 'running', 'provisioned');

    // Kill Bill took it but billing died before noting it: the next attempt finds our key and records nothing more.
    await billingDb(
      `UPDATE payment_settlements SET status = 'pending', next_attempt_at = now(), done_at = NULL WHERE payment_id = $1`,
      [payment.id],
    );
    await waitFor(
      async () =>
        (
          await billingDb<{ outcome: string; status: string }>(
            `SELECT outcome, status FROM payment_settlements WHERE payment_id = $1`,
            [payment.id],
          )
        )[0]?.outcome === 'already_recorded',
      'settled again as already recorded',
    );
    expect(await kbClient.getInvoicePayments(invoice.invoiceId)).toHaveLength(1);
    kbClient.close();
  }, 90_000);
});
