/**
 * Each Kill Bill event alone is enough: with push delivery paused, the test changes Kill Bill's state and then
 * hands the receiver exactly one notification (the one Kill Bill produced for that change); billing re-reads
 * Kill Bill and applies the entitlement. Kill Bill = emulator; other services = STAND-IN.
 */
import type { KillBillPushPayload } from '../../../libs/testing/src/killbill-emulator';
import { waitFor, WEBHOOK_SECRET } from './support/billing-harness';
import { localSubscription } from './support/flow-helpers';
import { Customer, newCustomer, payAll, startWorld, stopWorld, subscribe, World } from './support/world';

describe('entitlement mapping, one notification at a time', () => {
  let world: World;
  let customer: Customer;
  let accountId: string;
  let instanceId: string;
  let subscriptionId: string;

  /** Posts only the latest notification Kill Bill produced that matches, then processes it. */
  async function deliverOnly(eventType: string, match: (p: KillBillPushPayload) => boolean = () => true) {
    const event = world.kb
      .events({ eventType })
      .filter((e) => e.payload.accountId === accountId && match(e.payload))
      .pop();
    if (!event) throw new Error(`Kill Bill produced no ${eventType} for the account`);
    const res = await world.billing.harness.request({
      method: 'POST',
      url: `/api/billing/webhooks/killbill?token=${WEBHOOK_SECRET}`,
      headers: { 'content-type': 'application/json; charset=UTF-8' },
      payload: JSON.stringify(event.payload),
    });
    expect(res.statusCode).toBe(200);
    await world.billing.drain();
  }
  const instance = () => world.services.instances.get(instanceId);
  const actionType = (value: string) => (p: KillBillPushPayload) => (p.metaData ?? '').includes(value);

  beforeAll(async () => {
    world = await startWorld(
      {},
      { BILLING_ORPHAN_GRACE_SECONDS: '0', BILLING_RECHECK_INTERVAL_SECONDS: '0' },
    );
    world.kb.pausePushDelivery();
    customer = newCustomer(world);
    ({
      instance: { id: instanceId },
      subscriptionId,
    } = await subscribe(world, customer, 'basic-monthly'));
    accountId = (await world.kbClient.findAccountByExternalKey(customer.tenantId))!.accountId;
    // Billing acted on its own write (re-read Kill Bill after the create) without any notification…
    expect(world.services.instances.get(instanceId)?.status).toBe('running');
    // …rewind to "that re-read was lost", so each test below sees what one notification alone does.
    Object.assign(world.services.instances.get(instanceId)!, { status: 'pending' });
    await world.billing.dataSource.query(`UPDATE subscriptions SET entitlement = 'pending' WHERE id = $1`, [
      subscriptionId,
    ]);
  });
  afterAll(() => stopWorld(world));

  it('SUBSCRIPTION_CREATION EFFECTIVE alone → running (the pending instance is entitled)', async () => {
    expect(instance()).toMatchObject({ status: 'pending' });
    await deliverOnly('SUBSCRIPTION_CREATION', actionType('EFFECTIVE'));
    expect(instance()).toMatchObject({ status: 'running', desired_state: 'running' });
  });

  it('INVOICE_CREATION → invoice mail; INVOICE_PAYMENT_FAILED → payment-failed mail; still running', async () => {
    world.kb.advance(14);
    const before = world.smtp.count;
    await deliverOnly('INVOICE_CREATION');
    await world.smtp.waitFor({ to: customer.email, subject: /invoice 2$/, after: before });
    await deliverOnly('INVOICE_PAYMENT_FAILED');
    const mail = await world.smtp.waitFor({ to: customer.email, subject: /Payment failed/, after: before });
    expect(mail.text).toContain('5.00 USD is still due');
    expect(mail.text).toContain('http://app.saasodoo.test/payments');
    expect(instance()?.status).toBe('running');
  });

  it('OVERDUE_CHANGE into a state that blocks entitlement → suspended', async () => {
    world.kb.advance(14);
    await deliverOnly('OVERDUE_CHANGE');
    expect(instance()).toMatchObject({ status: 'suspended', desired_state: 'suspended' });
    expect((await localSubscription(world.billing, subscriptionId)).entitlement).toBe('suspended');
  });

  it('INVOICE_PAYMENT_SUCCESS (the overdue state cleared by the payment) → running', async () => {
    await payAll(world, customer);
    await deliverOnly('INVOICE_PAYMENT_SUCCESS');
    expect(instance()).toMatchObject({ status: 'running', desired_state: 'running' });
  });

  it('BLOCKING_STATE of overdue-service → suspended, and its clearing → running', async () => {
    world.kb.advance(31); // next period: a new invoice, unpaid for more than 14 days
    await deliverOnly('BLOCKING_STATE', (p) => (p.metaData ?? '').includes('"stateName":"BLOCKED"'));
    expect(instance()?.status).toBe('suspended');
    await payAll(world, customer);
    await deliverOnly('BLOCKING_STATE', (p) =>
      (p.metaData ?? '').includes('__KILLBILL__CLEAR__OVERDUE_STATE__'),
    );
    expect(instance()?.status).toBe('running');
  });

  it('SUBSCRIPTION_CANCEL REQUESTED keeps it running with the cancellation pending; SUBSCRIPTION_UNCANCEL withdraws it', async () => {
    await world.kbClient.cancelSubscription(subscriptionId, {
      entitlementPolicy: 'END_OF_TERM',
      billingPolicy: 'END_OF_TERM',
    });
    await deliverOnly('SUBSCRIPTION_CANCEL', actionType('REQUESTED'));
    expect(instance()?.status).toBe('running');
    expect((await localSubscription(world.billing, subscriptionId)).cancel_effective_at).not.toBeNull();
    await world.kbClient.uncancelSubscription(subscriptionId);
    await deliverOnly('SUBSCRIPTION_UNCANCEL', actionType('EFFECTIVE'));
    expect((await localSubscription(world.billing, subscriptionId)).cancel_effective_at).toBeNull();
    expect(instance()?.status).toBe('running');
  });

  it('ENTITLEMENT_CANCEL at the end of the term → terminated (and the termination mail)', async () => {
    await world.kbClient.cancelSubscription(subscriptionId, {
      entitlementPolicy: 'END_OF_TERM',
      billingPolicy: 'END_OF_TERM',
    });
    world.kb.advance(40);
    const before = world.smtp.count;
    await deliverOnly('ENTITLEMENT_CANCEL');
    expect(instance()).toMatchObject({ status: 'terminated', desired_state: 'terminated' });
    await world.smtp.waitFor({ to: customer.email, subject: /terminated/, after: before });
  });

  it('SUBSCRIPTION_CANCEL EFFECTIVE alone → terminated', async () => {
    const other = newCustomer(world);
    const { instance: second, subscriptionId: secondSub } = await subscribe(world, other, 'basic-immediate');
    const otherAccount = (await world.kbClient.findAccountByExternalKey(other.tenantId))!.accountId;
    await payAll(world, other);
    accountId = otherAccount;
    instanceId = second.id;
    await deliverOnly('SUBSCRIPTION_CREATION', actionType('EFFECTIVE'));
    expect(instance()?.status).toBe('running');
    await world.kbClient.cancelSubscription(secondSub, {
      entitlementPolicy: 'END_OF_TERM',
      billingPolicy: 'END_OF_TERM',
    });
    world.kb.advance(35);
    await deliverOnly('SUBSCRIPTION_CANCEL', actionType('EFFECTIVE'));
    expect(instance()).toMatchObject({ status: 'terminated', desired_state: 'terminated' });
    await waitFor(
      async () => (await localSubscription(world.billing, secondSub)).entitlement === 'terminated',
      'local',
    );
  });

  it('cancels in Kill Bill the subscription of an instance that instance-service no longer has', async () => {
    const other = newCustomer(world);
    const { instance: gone, subscriptionId: orphan } = await subscribe(world, other, 'basic-immediate');
    accountId = (await world.kbClient.findAccountByExternalKey(other.tenantId))!.accountId;
    world.services.instances.delete(gone.id); // instance-service discarded it (its creation failed)
    await deliverOnly('SUBSCRIPTION_CREATION', actionType('EFFECTIVE'));
    expect((await world.kbClient.getSubscription(orphan)).state).toBe('CANCELLED');
    expect((await localSubscription(world.billing, orphan)).entitlement).toBe('terminated');
  });
});
