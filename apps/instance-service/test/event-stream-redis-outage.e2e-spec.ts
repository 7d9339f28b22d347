import { DOMAIN_EVENTS } from '@app/contracts';
import { DomainEventPublisher } from '@app/redis';
import { serviceTestEnv, SseReader, TcpProxy, TestCustomer, waitFor } from '@app/testing';
import { AppModule as TenantModule } from '../../tenant-service/src/app.module';
import { AppModule as UserModule } from '../../user-service/src/app.module';
import { bearer, newCustomer, newTenant, Stack, startStack, TestTenant } from './support';

/*
 * Live status rides out a Redis outage: instance-service reaches Redis through a proxy this test cuts and
 * restores; the open stream stays open, and events published after Redis is back reach it again (the
 * microservice re-subscribes by itself).
 */
describe('instance-service event stream across a Redis outage', () => {
  const redisUrl = new URL(serviceTestEnv('instance-service').REDIS_URL!);
  const proxy = new TcpProxy(redisUrl.hostname, Number(redisUrl.port || 6379));
  let stack: Stack;
  let owner: TestCustomer;
  let tenant: TestTenant;
  let stream: SseReader | undefined;

  beforeAll(async () => {
    const port = await proxy.start();
    const proxied = new URL(redisUrl.toString());
    proxied.hostname = '127.0.0.1';
    proxied.port = String(port);
    stack = await startStack(
      { user: UserModule, tenant: TenantModule },
      { instanceEnv: { REDIS_URL: proxied.toString() } },
    );
    owner = await newCustomer(stack);
    tenant = await newTenant(stack, owner);
  }, 120_000);
  afterAll(async () => {
    await stream?.close();
    await stack?.close();
    await proxy.stop();
  }, 60_000);

  it('keeps the stream open and delivers events again once Redis is back', async () => {
    stream = await SseReader.open(`${stack.urls.instance}/api/v1/events/stream`, bearer(owner));
    expect(stream.status).toBe(200);
    const publisher = stack.tenants.app.get(DomainEventPublisher);
    const ofTenant = (d: Record<string, unknown>) => d.tenant_id === tenant.id;
    publisher.publish(DOMAIN_EVENTS.tenantSuspended, { tenant_id: tenant.id, reason: 'before' });
    await waitFor(
      'an event before the outage',
      async () => stream!.find(DOMAIN_EVENTS.tenantSuspended, ofTenant)[0],
      5000,
      50,
    );

    await proxy.stop();
    await waitFor(
      'instance-service to notice Redis is gone',
      async () => (await fetch(`${stack.urls.instance}/health/ready`)).status === 503,
      15_000,
      100,
    );
    await proxy.start();
    await waitFor(
      'instance-service ready again',
      async () => (await fetch(`${stack.urls.instance}/health/ready`)).status === 200,
      30_000,
      200,
    );
    // Redis pub/sub has no delivery guarantee: publish until the re-subscribed consumer hears one.
    await waitFor(
      'an event after the outage, on the same stream',
      async () => {
        publisher.publish(DOMAIN_EVENTS.tenantActivated, { tenant_id: tenant.id, reason: 'after' });
        return stream!.find(DOMAIN_EVENTS.tenantActivated, ofTenant)[0];
      },
      20_000,
      500,
    );
  }, 90_000);
});
