import { createAdmin, TestCustomer } from '@app/testing';
import { InstancesRepository } from '@app/instance-data';
import { PlacementNodesStore, type PlacementNode } from '@app/queue';
import { AdminAccountsService } from '../../user-service/src/admin/admin-accounts.service';
import { AppModule as TenantModule } from '../../tenant-service/src/app.module';
import { AppModule as UserModule } from '../../user-service/src/app.module';
import {
  bearer,
  cleanupInstances,
  createBody,
  createInstance,
  expectStatus,
  newCustomer,
  newTenant,
  observe,
  Stack,
  startStack,
  TestTenant,
} from './support';

/*
 * POST /admin/instances/{id}/migrate, the API side: admins only; what the worker's node snapshot says
 * (orchestrator, storage, node states and labels) and the row say decide 400/404/409 before anything is
 * recorded; an accepted request records the `migrate` operation with the chosen node (the worker side is
 * test/swarm-lab/migrate-node-loss.e2e-spec.ts, on a real three-node swarm).
 */
const GIB = 1024 ** 3;

function node(id: string, fields: Partial<PlacementNode> & { freeGib?: number } = {}): PlacementNode {
  const { freeGib = 4, ...rest } = fields;
  return {
    id,
    hostname: id,
    role: 'worker',
    availability: 'active',
    state: 'ready',
    labels: {},
    cpus: { total: 4, reserved: 0 },
    memory_bytes: { total: 8 * GIB, reserved: 8 * GIB - freeGib * GIB },
    ...rest,
  };
}

describe('POST /admin/instances/{id}/migrate', () => {
  let stack: Stack;
  let admin: TestCustomer;
  let owner: TestCustomer;
  let tenant: TestTenant;
  let store: PlacementNodesStore;
  const created: string[] = [];

  beforeAll(async () => {
    stack = await startStack({ user: UserModule, tenant: TenantModule });
    admin = await createAdmin(stack.users, (email, password) =>
      stack.users.app.get(AdminAccountsService).createAdmin(email, { password }),
    );
    owner = await newCustomer(stack);
    tenant = await newTenant(stack, owner, 'professional');
    store = new PlacementNodesStore({ redisUrl: process.env.REDIS_URL ?? '', prefix: stack.queuePrefix });
  }, 60_000);

  afterAll(async () => {
    await store?.close();
    if (!stack) return;
    await cleanupInstances(stack, created);
    await stack.close();
  });

  async function snapshot(
    nodes: PlacementNode[],
    extra: { orchestrator?: 'docker' | 'swarm'; storage?: 'local-volume' | 'shared-path' } = {},
  ): Promise<void> {
    await store.publish(
      {
        orchestrator: extra.orchestrator ?? 'swarm',
        storage: extra.storage ?? 'local-volume',
        observed_at: new Date().toISOString(),
        nodes,
      },
      30_000,
    );
  }

  /** An instance the worker placed on `placementNode`, in `status`. */
  async function instanceOn(placementNode: string, status: 'running' | 'stopped' = 'running') {
    const instance = await createInstance(stack, owner, createBody(tenant.id, { cpu_limit: 1 }));
    created.push(instance.id);
    await observe(stack, instance.id, status, {
      placementNode,
      containerName: `odoo-${instance.id.slice(0, 8)}`,
    });
    return instance.id;
  }

  function migrate(id: string, payload: Record<string, unknown> = {}, who: TestCustomer | null = admin) {
    return stack.instances.request({
      method: 'POST',
      url: `/admin/instances/${id}/migrate`,
      headers: who ? bearer(who) : {},
      payload,
    });
  }

  async function row(id: string) {
    return stack.instances.app.get(InstancesRepository).getById(id);
  }

  it('is for admins only (401 without a token, 403 for a customer) and 404 for an unknown instance', async () => {
    await snapshot([node('n1'), node('n2')]);
    const id = await instanceOn('n1');
    expectStatus(await migrate(id, {}, null), 401);
    const forbidden = await migrate(id, {}, owner);
    expectStatus(forbidden, 403);
    expect(forbidden.json()).toMatchObject({ code: 'ADMIN_REQUIRED' });
    const unknown = await migrate('7d0c3c2e-1f35-4c4a-9a43-3f2d2b1a0c55');
    expectStatus(unknown, 404);
    expect(unknown.json()).toMatchObject({ code: 'INSTANCE_NOT_FOUND' });
    expectStatus(await migrate('not-a-uuid'), 404);
    expect((await row(id)).pendingOperation).toBeNull();
  });

  it('refuses with 409 when the orchestrator is docker, or storage is shared; 503 with no node snapshot', async () => {
    const id = await instanceOn('n1');
    await store.publish({ orchestrator: 'swarm', observed_at: new Date().toISOString(), nodes: [] }, 1);
    await new Promise((resolve) => setTimeout(resolve, 20));
    const none = await migrate(id);
    expectStatus(none, 503);
    expect(none.json()).toMatchObject({ code: 'DEPENDENCY_UNAVAILABLE' });

    await snapshot([node('n1'), node('n2')], { orchestrator: 'docker' });
    const docker = await migrate(id);
    expectStatus(docker, 409);
    expect(docker.json()).toMatchObject({ code: 'MIGRATION_NOT_SUPPORTED' });

    await snapshot([node('n1'), node('n2')], { storage: 'shared-path' });
    const shared = await migrate(id, { node: 'n2' });
    expectStatus(shared, 409);
    expect(shared.json()).toMatchObject({ code: 'NOTHING_TO_MIGRATE' });
    const after = await row(id);
    expect(after.pendingOperation).toBeNull();
    expect(after.placementNode).toBe('n1');
  });

  it('checks the named node: unknown 400, down/drained/unlabelled 409 NODE_NOT_ELIGIBLE, its own node 409 SAME_NODE', async () => {
    await snapshot([
      node('n1', { labels: { 'saasodoo.role': 'odoo' } }),
      node('down', { state: 'down', labels: { 'saasodoo.role': 'odoo' } }),
      node('drained', { availability: 'drain', labels: { 'saasodoo.role': 'odoo' } }),
      node('plain'),
      node('ok', { labels: { 'saasodoo.role': 'odoo' } }),
    ]);
    const id = await instanceOn('n1');

    const unknown = await migrate(id, { node: 'nope' });
    expectStatus(unknown, 400);
    expect(unknown.json()).toMatchObject({
      code: 'VALIDATION_FAILED',
      message: expect.stringMatching(/nope/),
    });
    for (const [target, why] of [
      ['down', /down, not ready/],
      ['drained', /drain, not active/],
      ['plain', /saasodoo\.role=odoo/],
    ] as const) {
      const res = await migrate(id, { node: target });
      expectStatus(res, 409);
      expect(res.json()).toMatchObject({ code: 'NODE_NOT_ELIGIBLE', message: expect.stringMatching(why) });
    }
    const same = await migrate(id, { node: 'n1' });
    expectStatus(same, 409);
    expect(same.json()).toMatchObject({ code: 'SAME_NODE' });
    const bad = await migrate(id, { node: 42 });
    expectStatus(bad, 400);
    expect(bad.json()).toMatchObject({ code: 'VALIDATION_FAILED' });
    const extra = await migrate(id, { node: 'ok', force: true });
    expectStatus(extra, 400);
    expect((await row(id)).pendingOperation).toBeNull();
  });

  it('refuses a status that cannot move (409 MIGRATION_NOT_ALLOWED) and a second operation (409 OPERATION_PENDING)', async () => {
    await snapshot([node('n1'), node('n2')]);
    const pending = await createInstance(stack, owner, createBody(tenant.id, { cpu_limit: 1 }));
    created.push(pending.id);
    const notYet = await migrate(pending.id, { node: 'n2' });
    expectStatus(notYet, 409);
    expect(notYet.json()).toMatchObject({ code: 'MIGRATION_NOT_ALLOWED' });

    const id = await instanceOn('n1', 'stopped');
    const first = await migrate(id, { node: 'n2' });
    expectStatus(first, 202);
    const second = await migrate(id, { node: 'n2' });
    expectStatus(second, 409);
    expect(second.json()).toMatchObject({ code: 'OPERATION_PENDING' });
  });

  it('without a node, picks the eligible ready node with the most free memory other than the current one, and records the operation', async () => {
    await snapshot([
      node('n1', { freeGib: 7 }),
      node('small', { freeGib: 1 }),
      node('big', { freeGib: 6 }),
      node('bigger-but-drained', { freeGib: 7.5, availability: 'drain' }),
    ]);
    const id = await instanceOn('n1');
    const res = await migrate(id);
    expectStatus(res, 202);
    expect(res.json()).toMatchObject({
      instance_id: id,
      action: 'migrate',
      status: 'queued',
      node: 'big',
      from_node: 'n1',
      instance_status: 'running',
    });
    const recorded = await row(id);
    expect(recorded.pendingOperation).toMatchObject({
      action: 'migrate',
      params: { node: 'big', from: 'n1' },
      job_id: res.json<{ job_id: string }>().job_id,
    });
    expect(await stack.queue.queue.getJob(res.json<{ job_id: string }>().job_id)).toBeTruthy();

    // Nothing else to go to: 409 NO_ELIGIBLE_NODE.
    const other = await instanceOn('n1');
    await snapshot([node('n1'), node('gone', { state: 'down' })]);
    const nowhere = await migrate(other);
    expectStatus(nowhere, 409);
    expect(nowhere.json()).toMatchObject({ code: 'NO_ELIGIBLE_NODE' });
  });
});
