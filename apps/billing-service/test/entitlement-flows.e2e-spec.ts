/**
 * Kill Bill notifications drive instances: trial → running; trial ends unpaid → invoice → payment failed →
 * overdue blocks → suspended; external payment → running; cancel → EFFECTIVE at term end → terminated;
 * uncancel keeps it running. The same lifecycle with every notification delivered twice and shuffled gives
 * one provisioning and the same states; a receiver that is down is caught up by Kill Bill's retries, and
 * what Kill Bill dropped by the reconciliation.
 *
 * Kill Bill is the emulator (test double); instance-, tenant- and user-service are the recorded STAND-IN
 * (support/internal-api-stand-in.ts). billing-instance.e2e-spec.ts runs the lifecycle against the real
 * instance-service.
 */
import { ReconciliationService } from '../src/reconciliation/reconciliation.service';
import { waitFor } from './support/billing-harness';
import { localSubscription, settle } from './support/flow-helpers';
import { Customer, newCustomer, payAll, startWorld, stopWorld, subscribe, World } from './support/world';

function mailSubjects(world: World, customer: Customer): string[] {
  return world.smtp.messages({ to: customer.email }).map((m) => m.subject);
}

/** The whole paid lifecycle; returns the instance status at each checkpoint. */
async function lifecycle(
  world: World,
): Promise<{ checkpoints: string[]; mails: string[]; provisionings: number }> {
  const { kb, billing, services } = world;
  const customer = newCustomer(world);
  const { instance, subscriptionId } = await subscribe(world, customer, 'basic-monthly');
  const checkpoints: string[] = [];
  const check = async (label: string) => {
    await settle(kb, billing);
    checkpoints.push(`${label}:${services.instances.get(instance.id)?.status}`);
  };

  await check('trial');
  const trial = await localSubscription(billing, subscriptionId);
  expect(trial).toMatchObject({ entitlement: 'running', phase_type: 'TRIAL', kb_state: 'ACTIVE' });
  expect(trial.trial_ends_at?.toISOString()).toBe('2025-03-15T10:00:00.000Z');

  kb.advance(14); // trial over: EVERGREEN, $5 invoice, payment failed (no payment method)
  await check('trial-ended-unpaid');
  kb.advance(10); // WARNING: changes blocked, still running
  await check('warning');
  kb.advance(4); // BLOCKED: entitlement disabled
  await check('blocked');
  expect((await localSubscription(billing, subscriptionId)).entitlement).toBe('suspended');

  await payAll(world, customer); // external payment clears the account
  await check('paid');

  await world.kbClient.cancelSubscription(subscriptionId, {
    entitlementPolicy: 'END_OF_TERM',
    billingPolicy: 'END_OF_TERM',
  });
  await check('cancel-requested');
  expect((await localSubscription(billing, subscriptionId)).cancel_effective_at).not.toBeNull();
  kb.advance(40); // past the charged-through date: the cancellation is EFFECTIVE
  await check('term-ended');
  expect((await localSubscription(billing, subscriptionId)).entitlement).toBe('terminated');

  await world.billing.drain();
  await waitFor(() => mailSubjects(world, customer).length >= 5, 'billing mail');
  return {
    checkpoints,
    mails: mailSubjects(world, customer).sort(),
    provisionings: services.provisionings.get(instance.id) ?? 0,
  };
}

const EXPECTED_CHECKPOINTS = [
  'trial:running',
  'trial-ended-unpaid:running',
  'warning:running',
  'blocked:suspended',
  'paid:running',
  'cancel-requested:running',
  'term-ended:terminated',
];

describe('entitlements follow Kill Bill (notifications in order)', () => {
  let world: World | undefined;
  let ordered: Awaited<ReturnType<typeof lifecycle>>;

  beforeAll(async () => {
    world = await startWorld({});
  });
  afterAll(() => stopWorld(world));

  it('trial → running; unpaid → invoice → payment failed → blocked → suspended; paid → running; cancel → terminated at term end', async () => {
    ordered = await lifecycle(world!);
    expect(ordered.checkpoints).toEqual(EXPECTED_CHECKPOINTS);
    expect(ordered.provisionings).toBe(1);
    expect(ordered.mails).toEqual(
      [
        'Your SaaS Odoo invoice 2', // the $0 trial invoice (number 1) sends nothing
        'Payment failed for invoice 2',
        'Your SaaS Odoo instance is suspended',
        'Your SaaS Odoo instance is running again',
        'Your SaaS Odoo instance has been terminated',
      ].sort(),
    );
  });

  it('uncancel before the end of the term keeps the instance running after it', async () => {
    const w = world!;
    const customer = newCustomer(w);
    const { instance, subscriptionId } = await subscribe(w, customer, 'basic-immediate');
    await payAll(w, customer);
    await settle(w.kb, w.billing);
    expect(w.services.instances.get(instance.id)?.status).toBe('running');

    await w.kbClient.cancelSubscription(subscriptionId, {
      entitlementPolicy: 'END_OF_TERM',
      billingPolicy: 'END_OF_TERM',
    });
    await settle(w.kb, w.billing);
    expect((await localSubscription(w.billing, subscriptionId)).cancel_effective_at).not.toBeNull();
    await w.kbClient.uncancelSubscription(subscriptionId);
    await settle(w.kb, w.billing);
    expect((await localSubscription(w.billing, subscriptionId)).cancel_effective_at).toBeNull();

    w.kb.advance(35); // past the old term end (a new, unpaid invoice is not overdue yet)
    await settle(w.kb, w.billing);
    expect(w.services.instances.get(instance.id)).toMatchObject({
      status: 'running',
      desired_state: 'running',
    });
    expect((await localSubscription(w.billing, subscriptionId)).kb_state).toBe('ACTIVE');
  });

  it('catches up after the receiver was down (Kill Bill retries), and after Kill Bill gave up (reconciliation)', async () => {
    const w = world!;
    const customer = newCustomer(w);
    const { instance } = await subscribe(w, customer, 'basic-monthly');
    await settle(w.kb, w.billing);
    expect(w.services.instances.get(instance.id)?.status).toBe('running');

    // Down for less than Kill Bill's retry schedule: the retries deliver.
    await w.billing.proxy.stop();
    w.kb.advance(28); // trial over, unpaid for 14 days: BLOCKED
    await waitFor(() => w.kb.stats().retryScheduled > 0, 'a failed delivery scheduled for retry');
    expect(w.services.instances.get(instance.id)?.status).toBe('running');
    await w.billing.proxy.start(w.billing.callbackPort);
    await settle(w.kb, w.billing);
    expect(w.services.instances.get(instance.id)?.status).toBe('suspended');
    const retried = w.kb.deliveries().filter((d) => d.attempts.length > 1 && d.status === 'DELIVERED');
    expect(retried.length).toBeGreaterThan(0);

    // Down for longer than the whole schedule: Kill Bill drops them; the reconciliation converges.
    await w.billing.proxy.stop();
    await payAll(w, customer);
    await w.kb.waitForIdle({ includeRetries: true, timeoutMs: 10_000 });
    expect(w.kb.deliveries({ status: 'DROPPED' }).length).toBeGreaterThan(0);
    expect(w.services.instances.get(instance.id)?.status).toBe('suspended');
    await w.billing.proxy.start(w.billing.callbackPort);
    const report = await w.billing.harness.app.get(ReconciliationService).run();
    expect(report?.errors).toEqual([]);
    expect(w.services.instances.get(instance.id)?.status).toBe('running');
  });
});

describe('entitlements follow Kill Bill (every notification twice, shuffled, concurrent)', () => {
  let world: World | undefined;

  beforeAll(async () => {
    world = await startWorld({ shuffle: true, duplicate: true, pushConcurrency: 4, seed: 42 });
  });
  afterAll(() => stopWorld(world));

  it('provisions once and reaches the same states, with the same mail', async () => {
    const chaotic = await lifecycle(world!);
    expect(chaotic.checkpoints).toEqual(EXPECTED_CHECKPOINTS);
    expect(chaotic.provisionings).toBe(1);
    expect(chaotic.mails).toHaveLength(5);
    const duplicates = world!.kb.deliveries().filter((d) => d.duplicate);
    expect(duplicates.length).toBeGreaterThan(10);
    const [counts] = (await world!.billing.dataSource.query(
      `SELECT sum(duplicates)::int AS dropped, count(*)::int AS stored FROM killbill_inbox`,
    )) as { dropped: number; stored: number }[];
    expect(counts.dropped).toBeGreaterThanOrEqual(duplicates.length);
  });
});
