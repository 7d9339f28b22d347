import { createAdmin, TestCustomer } from '@app/testing';
import { PlacementNodesStore } from '@app/queue';
import { AdminAccountsService } from '../../user-service/src/admin/admin-accounts.service';
import { AppModule as TenantModule } from '../../tenant-service/src/app.module';
import { AppModule as UserModule } from '../../user-service/src/app.module';
import { bearer, expectStatus, newCustomer, Stack, startStack } from './support';

/*
 * GET /admin/nodes: the worker's node snapshot (PlacementNodesStore in Redis, written by
 * PlacementNodesPublisher) served to admins only; no recent snapshot is a 503, never an empty or stale list.
 */
describe('GET /admin/nodes (admin capacity view)', () => {
  let stack: Stack;
  let admin: TestCustomer;
  let customer: TestCustomer;
  let store: PlacementNodesStore;

  beforeAll(async () => {
    stack = await startStack({ user: UserModule, tenant: TenantModule });
    admin = await createAdmin(stack.users, (email, password) =>
      stack.users.app.get(AdminAccountsService).createAdmin(email, { password }),
    );
    customer = await newCustomer(stack);
    store = new PlacementNodesStore({ redisUrl: process.env.REDIS_URL ?? '', prefix: stack.queuePrefix });
  }, 60_000);

  afterAll(async () => {
    await store?.close();
    await stack?.close();
  });

  it('is 503 while no worker reported, then lists what the worker wrote; customers get 403', async () => {
    const before = await stack.instances.request({
      method: 'GET',
      url: '/admin/nodes',
      headers: bearer(admin),
    });
    expectStatus(before, 503);
    expect(before.json()).toMatchObject({ code: 'DEPENDENCY_UNAVAILABLE' });

    await store.publish(
      {
        orchestrator: 'swarm',
        observed_at: new Date().toISOString(),
        nodes: [
          {
            id: 'node-a',
            hostname: 'a',
            role: 'manager',
            availability: 'drain',
            state: 'ready',
            labels: { 'saasodoo.role': 'odoo' },
            cpus: { total: 4, reserved: 1.5 },
            memory_bytes: { total: 8 * 1024 ** 3, reserved: 2 * 1024 ** 3 },
          },
        ],
      },
      10_000,
    );
    const res = await stack.instances.request({ method: 'GET', url: '/admin/nodes', headers: bearer(admin) });
    expectStatus(res, 200);
    expect(res.json()).toMatchObject({
      orchestrator: 'swarm',
      nodes: [
        { id: 'node-a', availability: 'drain', labels: { 'saasodoo.role': 'odoo' }, cpus: { reserved: 1.5 } },
      ],
    });

    const forbidden = await stack.instances.request({
      method: 'GET',
      url: '/admin/nodes',
      headers: bearer(customer),
    });
    expectStatus(forbidden, 403);
    expect(forbidden.json()).toMatchObject({ code: 'ADMIN_REQUIRED' });
    expectStatus(await stack.instances.request({ method: 'GET', url: '/admin/nodes' }), 401);
  }, 60_000);
});
