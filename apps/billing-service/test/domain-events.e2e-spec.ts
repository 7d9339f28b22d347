/**
 * billing-service publishes subscription.changed and payment.changed on Redis (hints for the portal's live
 * view), read here by a plain Redis subscriber as instance-service's consumer reads them; and publishing
 * never fails the operation (bad payload, Redis unreachable).
 */
import type { Redis } from 'ioredis';
import { DOMAIN_EVENT_SCHEMAS, DOMAIN_EVENTS } from '@app/contracts';
import type { DomainEventName } from '@app/contracts';
import { MetricsRegistry } from '@app/metrics';
import { createRedisClient, DomainEventPublisher } from '@app/redis';
import { serviceTestEnv } from '@app/testing';
import { waitFor } from './support/billing-harness';
import { settle } from './support/flow-helpers';
import {
  as,
  newPayer,
  PaymentBody,
  PaymentsWorld,
  startPaymentsWorld,
  stopPaymentsWorld,
  subscribeInstance,
  unpaidInvoice,
} from './support/payments-world';

interface Heard {
  name: string;
  data: Record<string, unknown>;
}

describe('billing-service: domain events', () => {
  let world: PaymentsWorld;
  let subscriber: Redis;
  const heard: Heard[] = [];

  beforeAll(async () => {
    world = await startPaymentsWorld();
    subscriber = createRedisClient(serviceTestEnv('billing-service').REDIS_URL!, 'test-domain-events');
    await subscriber.connect();
    await subscriber.subscribe(DOMAIN_EVENTS.subscriptionChanged, DOMAIN_EVENTS.paymentChanged);
    subscriber.on('message', (channel: string, message: string) => {
      const packet = JSON.parse(message) as { pattern: string; data: Record<string, unknown> };
      heard.push({ name: channel, data: packet.data });
    });
  }, 60_000);
  afterAll(async () => {
    await subscriber?.quit();
    await stopPaymentsWorld(world);
  });

  const of = (name: DomainEventName, where: (data: Record<string, unknown>) => boolean) =>
    heard.filter((e) => e.name === name && where(e.data));

  it('a subscription suspended for non-payment and a payment that settles it are announced, per tenant', async () => {
    const { customer, tenantId } = await newPayer(world);
    const { instance } = await subscribeInstance(world, tenantId, customer.id, 'basic-monthly');
    await settle(world.kb, world.billing);
    world.kb.advance(28);
    await settle(world.kb, world.billing);
    expect(world.services.instances.get(instance.id)?.status).toBe('suspended');
    const suspended = await waitFor(
      () =>
        of(DOMAIN_EVENTS.subscriptionChanged, (d) => d.tenant_id === tenantId && d.state === 'suspended')[0],
      'subscription.changed → suspended',
    );
    expect(DOMAIN_EVENT_SCHEMAS['subscription.changed'].safeParse(suspended.data).success).toBe(true);

    const invoice = await unpaidInvoice(world, tenantId);
    const res = await as(world, customer, {
      method: 'POST',
      url: '/api/billing/payments',
      payload: { invoice_id: invoice.id, method: 'ecocash', phone: '0771111111' },
    });
    expect(res.statusCode).toBe(201);
    const payment = res.json<PaymentBody>();
    world.paynow.advance(5_000);
    await waitFor(
      () => of(DOMAIN_EVENTS.paymentChanged, (d) => d.payment_id === payment.id && d.status === 'paid')[0],
      'payment.changed → paid',
    );
    expect(of(DOMAIN_EVENTS.paymentChanged, (d) => d.payment_id === payment.id)[0]!.data).toEqual({
      payment_id: payment.id,
      tenant_id: tenantId,
      status: 'paid',
    });
    await waitFor(
      () =>
        of(DOMAIN_EVENTS.subscriptionChanged, (d) => d.tenant_id === tenantId && d.state === 'running')[0],
      'subscription.changed → running',
    );
  }, 120_000);

  it('publishing never throws: an invalid payload and an unreachable Redis are counted, not raised', async () => {
    const metrics = new MetricsRegistry('domain-events-test');
    const down = new DomainEventPublisher({ REDIS_URL: 'redis://127.0.0.1:1' }, metrics);
    try {
      expect(() =>
        down.publish(DOMAIN_EVENTS.tenantSuspended, { tenant_id: 'not-a-uuid', reason: null }),
      ).not.toThrow();
      expect(() =>
        down.publish(DOMAIN_EVENTS.tenantActivated, {
          tenant_id: '00000000-0000-4000-8000-000000000000',
          reason: 'x',
        }),
      ).not.toThrow();
      const text = () => metrics.registry.metrics();
      expect(await text()).toMatch(
        /domain_events_published_total\{event="tenant.suspended",result="invalid"[^}]*\} 1/,
      );
      await waitFor(
        async () =>
          /domain_events_published_total\{event="tenant.activated",result="failed"[^}]*\} 1/.test(
            await text(),
          ),
        'the failed publish counted',
        15_000,
      );
    } finally {
      await down.onApplicationShutdown().catch(() => undefined);
    }
  }, 30_000);
});
