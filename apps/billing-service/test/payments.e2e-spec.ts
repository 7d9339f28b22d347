/**
 * PayNow payments settle Kill Bill invoices exactly once. Real user-service (tokens, contact cards), real
 * billing-service and Postgres; Kill Bill and PayNow are emulators (test doubles); tenant- and instance-service
 * are the recorded STAND-IN. The PayNow clock is moved by hand (timeScale 0), so "paid after 30 s" is instant.
 */
import { randomUUID } from 'node:crypto';
import {
  paynowHashOf,
  PAYNOW_TEST_PHONES,
  signedPaynowForm,
} from '../../../libs/testing/src/paynow-emulator';
import { PAYNOW_RESULT_PATH } from '../src/config/env';
import { waitFor } from './support/billing-harness';
import { settle } from './support/flow-helpers';
import {
  as,
  kbPaymentsOf,
  newPayer,
  PaymentBody,
  paymentOf,
  PaymentsWorld,
  startPaymentsWorld,
  stopPaymentsWorld,
  subscribeInstance,
  unpaidInvoice,
} from './support/payments-world';

const post = (world: PaymentsWorld, body: string) =>
  world.billing.harness.request({
    method: 'POST',
    url: PAYNOW_RESULT_PATH,
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    payload: body,
  });

describe('payments (PayNow → Kill Bill)', () => {
  let world: PaymentsWorld;

  beforeAll(async () => {
    world = await startPaymentsWorld();
  }, 60_000);
  afterAll(() => stopPaymentsWorld(world));
  afterEach(() => world.paynow.results.configure({ duplicate: 1, delayMs: 0, shuffle: false, drop: false }));

  /** A customer with a basic-monthly instance whose trial ended unpaid until the account is BLOCKED. */
  async function suspendedCustomer() {
    const { customer, tenantId } = await newPayer(world);
    const { instance } = await subscribeInstance(world, tenantId, customer.id, 'basic-monthly');
    await settle(world.kb, world.billing);
    world.kb.advance(28); // trial over (14 d), unpaid → WARNING (10 d) → BLOCKED (4 d)
    await settle(world.kb, world.billing);
    expect(world.services.instances.get(instance.id)?.status).toBe('suspended');
    return { customer, tenantId, instance, invoice: await unpaidInvoice(world, tenantId) };
  }

  async function pay(customer: Parameters<typeof as>[1], invoiceId: string, method: string, phone?: string) {
    return as(world, customer, {
      method: 'POST',
      url: '/api/billing/payments',
      payload: { invoice_id: invoiceId, method, ...(phone ? { phone } : {}) },
    });
  }

  it('an overdue, suspended instance is paid by EcoCash and runs again (receipt, metrics, one Kill Bill payment)', async () => {
    const { customer, instance, invoice } = await suspendedCustomer();
    const res = await pay(customer, invoice.id, 'ecocash', '+263 77 111 1111');
    expect(res.statusCode).toBe(201);
    const payment = res.json<PaymentBody>();
    expect(payment).toMatchObject({
      invoice_id: invoice.id,
      amount: invoice.balance,
      currency: 'USD',
      method: 'ecocash',
      status: 'pending',
    });
    expect(payment.instructions).toBeTruthy();
    const tx = world.paynow.transaction(payment.id);
    expect(tx).toMatchObject({
      phone: '0771111111',
      method: 'ecocash',
      authEmail: world.paynow.merchantEmail,
    });
    expect(tx?.amount).toBe(invoice.balance.toFixed(2));

    world.paynow.advance(5_000); // 0771111111: paid after 5 s
    await waitFor(async () => (await paymentOf(world, customer, payment.id)).recorded, 'payment recorded');
    await waitFor(() => world.services.instances.get(instance.id)?.status === 'running', 'instance running');
    const recorded = await kbPaymentsOf(world, invoice.id);
    expect(recorded.map((p) => [p.paymentExternalKey, p.purchasedAmount])).toEqual([
      [payment.id, invoice.balance],
    ]);
    expect((await paymentOf(world, customer, payment.id)).status).toBe('paid');
    await world.smtp.waitFor({ to: customer.email, subject: /^Payment received/ });
    const metrics = (await world.billing.harness.request({ method: 'GET', url: '/metrics' })).body;
    expect(metrics).toMatch(/payments_total\{method="ecocash",status="paid"[^}]*\} [1-9]/);
    expect(metrics).toMatch(/payment_confirmation_seconds_count\{[^}]*\} [1-9]/);
    expect(metrics).toMatch(/payment_outbox_lag_seconds\{[^}]*\} 0\n/);
  });

  it('a basic-immediate instance waits (payment_required), is paid by OneMoney and is provisioned once', async () => {
    const { customer, tenantId } = await newPayer(world);
    const { instance, subscriptionId } = await subscribeInstance(
      world,
      tenantId,
      customer.id,
      'basic-immediate',
    );
    await settle(world.kb, world.billing);
    expect(world.services.instances.get(instance.id)).toMatchObject({
      status: 'pending',
      desired_state: 'running',
    });
    const waiting = await as(world, customer, {
      method: 'GET',
      url: `/api/billing/subscriptions/${subscriptionId}`,
    });
    expect(waiting.json()).toMatchObject({
      entitlement: 'pending',
      billing_status: 'payment_required',
      entitled: false,
    });
    expect(world.services.callsTo(new RegExp(`/internal/instances/${instance.id}/desired-state`))).toEqual(
      [],
    );

    const invoice = await unpaidInvoice(world, tenantId);
    const payment = (await pay(customer, invoice.id, 'onemoney', '0771111111')).json<PaymentBody>();
    world.paynow.advance(5_000);
    await waitFor(() => world.services.instances.get(instance.id)?.status === 'running', 'provisioned');
    // billing records the entitlement in its own row right after instance-service accepted it.
    const paid = await waitFor(async () => {
      const res = await as(world, customer, {
        method: 'GET',
        url: `/api/billing/subscriptions/${subscriptionId}`,
      });
      return res.json<{ entitlement: string }>().entitlement === 'running' ? res : undefined;
    }, 'the subscription entitled');
    expect(paid.json()).toMatchObject({ entitlement: 'running', billing_status: null, entitled: true });
    expect((await kbPaymentsOf(world, invoice.id)).map((p) => p.paymentExternalKey)).toEqual([payment.id]);
    await settle(world.kb, world.billing);
    expect(world.services.provisionings.get(instance.id)).toBe(1);
  });

  it('a trial instance runs at once, without a Kill Bill push (act on own writes)', async () => {
    const { customer, tenantId } = await newPayer(world);
    world.kb.pausePushDelivery();
    try {
      const { instance } = await subscribeInstance(world, tenantId, customer.id, 'basic-monthly');
      expect(world.services.instances.get(instance.id)?.status).toBe('running');
    } finally {
      world.kb.resumePushDelivery();
    }
  });

  it('a cancelled payment records nothing and sends a notice', async () => {
    const { customer, instance, invoice } = await suspendedCustomer();
    const payment = (
      await pay(customer, invoice.id, 'ecocash', PAYNOW_TEST_PHONES.cancelledAfter30s)
    ).json<PaymentBody>();
    world.paynow.advance(30_000);
    await waitFor(
      async () => (await paymentOf(world, customer, payment.id)).status === 'cancelled',
      'cancelled',
    );
    await world.smtp.waitFor({ to: customer.email, subject: /was cancelled/ });
    await settle(world.kb, world.billing);
    expect(await kbPaymentsOf(world, invoice.id)).toEqual([]);
    expect(world.services.instances.get(instance.id)?.status).toBe('suspended');
    // The invoice is free for another attempt.
    expect((await pay(customer, invoice.id, 'ecocash', PAYNOW_TEST_PHONES.paidAfter30s)).statusCode).toBe(
      201,
    );
  });

  it('insufficient balance gives a clear 402 with the gateway message and keeps nothing pending', async () => {
    const { customer, invoice } = await suspendedCustomer();
    const res = await pay(customer, invoice.id, 'onemoney', PAYNOW_TEST_PHONES.insufficientBalance);
    expect(res.statusCode).toBe(402);
    expect(res.json()).toMatchObject({
      code: 'PAYMENT_DECLINED',
      details: [{ gateway_message: 'Insufficient balance' }],
    });
    const mine = (await as(world, customer, { method: 'GET', url: '/api/billing/payments' })).json<{
      payments: PaymentBody[];
    }>().payments;
    expect(mine.map((p) => p.status)).toEqual(['failed']);
    expect((await pay(customer, invoice.id, 'onemoney', PAYNOW_TEST_PHONES.paidAfter5s)).statusCode).toBe(
      201,
    );
  });

  it('checks who pays, the phone, and refuses a second pending payment of one invoice (409 with the pending one)', async () => {
    const { customer, tenantId, invoice } = await suspendedCustomer();
    const { customer: stranger } = await newPayer(world);
    const { customer: viewer } = await newPayer(world, 'viewer', tenantId);
    expect((await pay(stranger, invoice.id, 'ecocash', '0771111111')).statusCode).toBe(404);
    expect((await pay(viewer, invoice.id, 'ecocash', '0771111111')).statusCode).toBe(403);
    expect((await pay(null, invoice.id, 'ecocash', '0771111111')).statusCode).toBe(401);
    const badPhone = await pay(customer, invoice.id, 'ecocash', '0123');
    expect(badPhone.statusCode).toBe(400);
    expect((await pay(customer, invoice.id, 'ecocash')).statusCode).toBe(400);
    const withAmount = await as(world, customer, {
      method: 'POST',
      url: '/api/billing/payments',
      payload: { invoice_id: invoice.id, method: 'card', amount: 0.01 },
    });
    expect(withAmount.statusCode).toBe(400);
    expect((await pay(customer, randomUUID(), 'card')).statusCode).toBe(404);

    const card = await pay(customer, invoice.id, 'card');
    expect(card.statusCode).toBe(201);
    const first = card.json<PaymentBody>();
    expect(first.redirect_url).toMatch(new RegExp(`^${world.paynow.url}/Payment/ConfirmPayment/\\d+$`));
    const second = await pay(customer, invoice.id, 'ecocash', '0771111111');
    expect(second.statusCode).toBe(409);
    expect(second.json()).toMatchObject({
      code: 'PAYMENT_PENDING',
      details: [{ payment: { id: first.id } }],
    });
    expect(
      (await as(world, stranger, { method: 'GET', url: `/api/billing/payments/${first.id}` })).statusCode,
    ).toBe(404);
    expect(
      (await as(world, viewer, { method: 'GET', url: `/api/billing/payments/${first.id}` })).statusCode,
    ).toBe(200);

    // The customer completes the card payment on PayNow's page.
    world.paynow.completeWebPayment(first.id, 'pay');
    await waitFor(async () => (await paymentOf(world, customer, first.id)).recorded, 'card payment recorded');
    const admin = await as(world, world.admin, { method: 'GET', url: '/admin/billing/payments?status=paid' });
    expect(admin.json<{ payments: PaymentBody[] }>().payments.map((p) => p.id)).toContain(first.id);
    expect((await as(world, customer, { method: 'GET', url: '/admin/billing/payments' })).statusCode).toBe(
      403,
    );
  });

  it('a forged or unsigned result gives 400 and changes nothing; an unknown reference gives 200 and does nothing', async () => {
    const { customer, invoice } = await suspendedCustomer();
    const payment = (
      await pay(customer, invoice.id, 'ecocash', PAYNOW_TEST_PHONES.paidAfter30s)
    ).json<PaymentBody>();
    const tx = world.paynow.transaction(payment.id)!;
    const fields: [string, string][] = [
      ['reference', payment.id],
      ['amount', tx.amount],
      ['paynowreference', tx.paynowReference],
      ['pollurl', `${world.paynow.url}/Interface/CheckPayment/?guid=${tx.guid}`],
      ['status', 'Paid'],
    ];
    const [inboxBefore] = (await world.billing.dataSource.query(
      `SELECT count(*)::int AS n FROM paynow_inbox`,
    )) as {
      n: number;
    }[];
    const forged = await post(world, signedPaynowForm(fields, 'not-the-integration-key'));
    expect(forged.statusCode).toBe(400);
    expect(forged.json()).toMatchObject({ code: 'INVALID_STATUS_UPDATE' });
    expect((await post(world, new URLSearchParams(fields).toString())).statusCode).toBe(400);
    const tampered = new URLSearchParams(fields);
    tampered.set('amount', '0.01');
    tampered.append('hash', paynowHashOf(fields, world.paynow.integrationKey));
    expect((await post(world, tampered.toString())).statusCode).toBe(400);
    const [inboxAfter] = (await world.billing.dataSource.query(
      `SELECT count(*)::int AS n FROM paynow_inbox`,
    )) as {
      n: number;
    }[];
    expect(inboxAfter.n).toBe(inboxBefore.n);
    expect((await paymentOf(world, customer, payment.id)).status).toBe('pending');

    const unknown = await post(
      world,
      signedPaynowForm(
        [
          ['reference', randomUUID()],
          ['amount', '5.00'],
          ['paynowreference', '1'],
          ['pollurl', `${world.paynow.url}/Interface/CheckPayment/?guid=${randomUUID()}`],
          ['status', 'Paid'],
        ],
        world.paynow.integrationKey,
      ),
    );
    expect(unknown.statusCode).toBe(200);
    await waitFor(async () => {
      const rows = (await world.billing.dataSource.query(
        `SELECT outcome FROM paynow_inbox WHERE status = 'ignored'`,
      )) as { outcome: string }[];
      return rows.some((r) => r.outcome === 'unknown_reference');
    }, 'unknown reference ignored');
    expect(await kbPaymentsOf(world, invoice.id)).toEqual([]);
  });

  it('duplicated and shuffled results (Paid, then Delivered) give exactly one Kill Bill payment', async () => {
    const { customer, instance, invoice } = await suspendedCustomer();
    world.paynow.results.configure({ duplicate: 4, delayMs: [0, 80], shuffle: true });
    const payment = (
      await pay(customer, invoice.id, 'onemoney', PAYNOW_TEST_PHONES.paidAfter5s)
    ).json<PaymentBody>();
    world.paynow.advance(5_000);
    world.paynow.setStatus(world.paynow.transaction(payment.id)!, 'Delivered');
    await world.paynow.results.waitForIdle();
    await waitFor(async () => (await paymentOf(world, customer, payment.id)).recorded, 'recorded');
    await waitFor(() => world.services.instances.get(instance.id)?.status === 'running', 'running');
    const delivered = world.paynow.results.posts.filter(
      (p) => p.reference === payment.id && p.outcome === 'delivered',
    );
    expect(delivered.length).toBe(8); // Paid ×4 and Delivered ×4, in a shuffled order
    await settle(world.kb, world.billing);
    expect((await kbPaymentsOf(world, invoice.id)).map((p) => p.paymentExternalKey)).toEqual([payment.id]);
    const [settlements] = (await world.billing.dataSource.query(
      `SELECT count(*)::int AS n FROM payment_settlements WHERE payment_id = $1`,
      [payment.id],
    )) as { n: number }[];
    expect(settlements.n).toBe(1);
  });

  it('with every result post dropped, the poller finds the payment', async () => {
    const { customer, instance, invoice } = await suspendedCustomer();
    world.paynow.results.configure({ drop: true });
    const payment = (
      await pay(customer, invoice.id, 'ecocash', PAYNOW_TEST_PHONES.paidAfter30s)
    ).json<PaymentBody>();
    world.paynow.advance(30_000);
    await waitFor(
      async () => (await paymentOf(world, customer, payment.id)).recorded,
      'recorded by polling',
      15_000,
    );
    await waitFor(() => world.services.instances.get(instance.id)?.status === 'running', 'running');
    expect(
      world.paynow.results.posts
        .filter((p) => p.reference === payment.id)
        .every((p) => p.outcome === 'dropped'),
    ).toBe(true);
    expect(world.paynow.transaction(payment.id)!.polls).toBeGreaterThan(0);
    expect((await kbPaymentsOf(world, invoice.id)).map((p) => p.paymentExternalKey)).toEqual([payment.id]);
  });

  it('an amount that differs from what was asked is failed with an alert, never recorded', async () => {
    const { customer, invoice } = await suspendedCustomer();
    const payment = (
      await pay(customer, invoice.id, 'ecocash', PAYNOW_TEST_PHONES.paidAfter5s)
    ).json<PaymentBody>();
    world.paynow.tamperAmount(payment.id, '0.50');
    world.paynow.advance(5_000);
    await waitFor(async () => (await paymentOf(world, customer, payment.id)).status === 'failed', 'failed');
    await settle(world.kb, world.billing);
    expect(await kbPaymentsOf(world, invoice.id)).toEqual([]);
  });

  it('the operator route records a manual payment through the same outbox, idempotent on its reference', async () => {
    const { invoice } = await suspendedCustomer();
    const reference = `bank-${randomUUID()}`;
    const request = () =>
      as(world, world.admin, {
        method: 'POST',
        url: `/admin/billing/invoices/${invoice.id}/external-payments`,
        payload: { reference },
      });
    const first = await request();
    expect(first.statusCode).toBe(201);
    expect(first.json()).toMatchObject({ invoice_id: invoice.id, paid: true });
    const again = await request();
    expect(again.json()).toMatchObject({ payment_id: first.json<{ payment_id: string }>().payment_id });
    expect(await kbPaymentsOf(world, invoice.id)).toHaveLength(1);
  });

  it('a payment left unpaid past PAYMENT_EXPIRY_MINUTES ends as cancelled', async () => {
    const { customer, invoice } = await suspendedCustomer();
    const payment = (await pay(customer, invoice.id, 'card')).json<PaymentBody>();
    await world.billing.dataSource.query(
      `UPDATE payments SET expires_at = now() - interval '1 second' WHERE id = $1`,
      [payment.id],
    );
    await waitFor(
      async () => (await paymentOf(world, customer, payment.id)).status === 'cancelled',
      'expired',
    );
    expect(await kbPaymentsOf(world, invoice.id)).toEqual([]);
  });
});
