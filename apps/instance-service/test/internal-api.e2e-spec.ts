import { lifecycleJobId } from '@app/queue';
import { createAdmin, TestCustomer } from '@app/testing';
import { AdminAccountsService } from '../../user-service/src/admin/admin-accounts.service';
import { AppModule as TenantModule } from '../../tenant-service/src/app.module';
import { AppModule as UserModule } from '../../user-service/src/app.module';
import {
  bearer,
  cleanupInstances,
  createBody,
  createInstance,
  expectStatus,
  InstanceBody,
  internalHeaders,
  newCustomer,
  newTenant,
  observe,
  Stack,
  startStack,
  TestTenant,
} from './support';

interface InternalState {
  id: string;
  tenant_id: string;
  status: string;
  desired_state: string;
  generation: number;
}

/** instance-service runs with BILLING_PROVIDER=killbill here: instances wait for billing's entitlement. */
describe('instance-service: internal API (/internal/*)', () => {
  let stack: Stack;
  let owner: TestCustomer;
  let tenant: TestTenant;
  const created: string[] = [];

  beforeAll(async () => {
    stack = await startStack(
      { user: UserModule, tenant: TenantModule },
      { instanceEnv: { BILLING_PROVIDER: 'killbill' } },
    );
  });
  beforeEach(async () => {
    owner = await newCustomer(stack);
    tenant = await newTenant(stack, owner, 'basic');
  });
  afterAll(async () => {
    if (!stack) return;
    await cleanupInstances(stack, created);
    await stack.close();
  });

  async function fresh(): Promise<InstanceBody> {
    const instance = await createInstance(stack, owner, createBody(tenant.id));
    created.push(instance.id);
    return instance;
  }

  function internal(method: 'GET' | 'PUT' | 'POST', url: string, payload?: Record<string, unknown>) {
    return stack.instances.request({ method, url, headers: internalHeaders(), payload });
  }

  async function tenantUse(): Promise<number> {
    const res = await stack.tenants.request({
      method: 'GET',
      url: `/api/v1/tenants/${tenant.id}`,
      headers: bearer(owner),
    });
    return res.json<{ instances_used: number }>().instances_used;
  }

  it('entitles a pending instance with desired-state running (provision job), idempotently', async () => {
    const instance = await fresh();
    expect(instance).toMatchObject({ status: 'pending', desired_state: 'stopped' });
    expect(await stack.queue.getJob(lifecycleJobId(instance.id, 'provision', 1))).toBeNull();

    const body = {
      desired_state: 'running',
      reason: 'subscription ACTIVE (TRIAL)',
      actor: 'billing-service',
    };
    const first = await internal('PUT', `/internal/instances/${instance.id}/desired-state`, body);
    expectStatus(first, 200);
    expect(first.json()).toMatchObject({
      id: instance.id,
      tenant_id: tenant.id,
      status: 'pending',
      desired_state: 'running',
      generation: 1,
    });
    expect(await stack.queue.getJob(lifecycleJobId(instance.id, 'provision', 1))).toMatchObject({
      name: 'provision',
      data: { requested_by: 'billing-service', reason: 'subscription ACTIVE (TRIAL)' },
    });
    const again = await internal('PUT', `/internal/instances/${instance.id}/desired-state`, body);
    expectStatus(again, 200);
    expect(again.json<InternalState>().generation).toBe(1);

    const events = await stack.instances.request({
      method: 'GET',
      url: `/api/v1/instances/${instance.id}/events`,
      headers: bearer(owner),
    });
    expect(events.json<{ events: unknown[] }>().events[0]).toMatchObject({
      action: 'desired:running',
      actor: 'billing-service',
      reason: 'subscription ACTIVE (TRIAL)',
    });
  });

  it('terminates through desired-state (slot released), and then refuses any other state (409)', async () => {
    const instance = await fresh();
    expect(await tenantUse()).toBe(1);
    const terminate = await internal('PUT', `/internal/instances/${instance.id}/desired-state`, {
      desired_state: 'terminated',
      reason: 'subscription cancelled (EFFECTIVE)',
      actor: 'billing-service',
    });
    expectStatus(terminate, 200);
    expect(terminate.json()).toMatchObject({ desired_state: 'terminated' });
    expect(await stack.queue.getJob(lifecycleJobId(instance.id, 'terminate', 1))).toMatchObject({
      name: 'terminate',
    });
    expect(await tenantUse()).toBe(0);
    const revive = await internal('PUT', `/internal/instances/${instance.id}/desired-state`, {
      desired_state: 'running',
      reason: 'paid',
      actor: 'billing-service',
    });
    expect(revive.statusCode).toBe(409);
    expect(revive.json()).toMatchObject({ code: 'INSTANCE_TERMINATED' });
  });

  it('validates desired-state requests and answers 404 for unknown instances', async () => {
    const instance = await fresh();
    for (const payload of [
      { desired_state: 'exploded', reason: 'x', actor: 'x' },
      { desired_state: 'running', reason: '', actor: 'x' },
      { desired_state: 'running', reason: 'x' },
      { desired_state: 'running', reason: 'x', actor: 'x', extra: 1 },
    ]) {
      const res = await internal('PUT', `/internal/instances/${instance.id}/desired-state`, payload);
      expect(res.statusCode).toBe(400);
    }
    const unknown = await internal(
      'PUT',
      '/internal/instances/5d0f4c1e-1111-4111-8111-111111111111/desired-state',
      {
        desired_state: 'running',
        reason: 'x',
        actor: 'x',
      },
    );
    expect(unknown.statusCode).toBe(404);
    const get = await internal('GET', `/internal/instances/${instance.id}`);
    expectStatus(get, 200);
    expect(get.json()).toMatchObject({
      id: instance.id,
      tenant_id: tenant.id,
      customer_id: owner.id,
      status: 'pending',
      desired_state: 'stopped',
      subdomain: instance.subdomain,
      cpu_limit: 1.5,
      memory_limit: '2G',
      storage_limit: '10G',
    });
    expect(get.body).not.toContain('password');
  });

  it('sets limits for billing: applied by a job, bounded by the largest caps', async () => {
    const instance = await fresh();
    await observe(stack, instance.id, 'running');
    const res = await internal('PUT', `/internal/instances/${instance.id}/limits`, {
      cpu_limit: 4,
      memory_limit: '8g',
      storage_limit: '50G',
    });
    expectStatus(res, 200);
    const generation = res.json<InternalState>().generation;
    expect(await stack.queue.getJob(lifecycleJobId(instance.id, 'apply_limits', generation))).toMatchObject({
      name: 'apply_limits',
      data: { requested_by: 'billing-service' },
    });
    const get = await stack.instances.request({
      method: 'GET',
      url: `/api/v1/instances/${instance.id}`,
      headers: bearer(owner),
    });
    expect(get.json()).toMatchObject({ cpu_limit: 4, memory_limit: '8G', storage_limit: '50G' });
    for (const payload of [
      { cpu_limit: 9, memory_limit: '1G', storage_limit: '10G' },
      { cpu_limit: 1, memory_limit: '17G', storage_limit: '10G' },
      { cpu_limit: 1, memory_limit: '1G' },
      { cpu_limit: 1, memory_limit: '1 G', storage_limit: '10G' },
    ]) {
      expect((await internal('PUT', `/internal/instances/${instance.id}/limits`, payload)).statusCode).toBe(
        400,
      );
    }
  });

  it('suspends and resumes every live instance of a tenant, each back to what it wanted', async () => {
    const running = await fresh();
    const stopped = await fresh();
    const gone = await fresh();
    for (const instance of [running, stopped, gone]) {
      await internal('PUT', `/internal/instances/${instance.id}/desired-state`, {
        desired_state: 'running',
        reason: 'entitled',
        actor: 'billing-service',
      });
      await observe(stack, instance.id, 'running');
    }
    const stop = await stack.instances.request({
      method: 'POST',
      url: `/api/v1/instances/${stopped.id}/actions`,
      headers: bearer(owner),
      payload: { action: 'stop' },
    });
    expectStatus(stop, 202);
    await observe(stack, stopped.id, 'stopped');
    expectStatus(
      await stack.instances.request({
        method: 'DELETE',
        url: `/api/v1/instances/${gone.id}`,
        headers: bearer(owner),
      }),
      202,
    );
    await observe(stack, gone.id, 'terminated');

    const suspend = await internal('POST', `/internal/tenants/${tenant.id}/suspend`, { reason: 'overdue' });
    expectStatus(suspend, 200);
    expect(suspend.json()).toEqual({ affected: 2 });
    const desired = async (id: string) =>
      (await internal('GET', `/internal/instances/${id}`)).json<InternalState>();
    expect(await desired(running.id)).toMatchObject({ desired_state: 'suspended' });
    expect(await desired(stopped.id)).toMatchObject({ desired_state: 'suspended' });
    expect(await desired(gone.id)).toMatchObject({ desired_state: 'terminated' });
    expect(
      (await internal('POST', `/internal/tenants/${tenant.id}/suspend`, { reason: 'overdue' })).json(),
    ).toEqual({
      affected: 0,
    });

    const resume = await internal('POST', `/internal/tenants/${tenant.id}/resume`, { reason: 'paid' });
    expect(resume.json()).toEqual({ affected: 2 });
    expect(await desired(running.id)).toMatchObject({ desired_state: 'running' });
    expect(await desired(stopped.id)).toMatchObject({ desired_state: 'stopped' });
    expect(
      (await internal('POST', `/internal/tenants/${tenant.id}/resume`, { reason: 'paid' })).json(),
    ).toEqual({
      affected: 0,
    });
  });

  it('counts live instances per tenant and per customer (terminated left out)', async () => {
    const a = await fresh();
    const b = await fresh();
    const c = await fresh();
    await observe(stack, a.id, 'running');
    await observe(stack, c.id, 'terminated');
    const expected = { instance_count: 2, by_status: { running: 1, pending: 1 } };
    const byTenant = await internal('GET', `/internal/tenants/${tenant.id}/instances/count`);
    expectStatus(byTenant, 200);
    expect(byTenant.json()).toEqual(expected);
    expect((await internal('GET', `/internal/customers/${owner.id}/instances/count`)).json()).toEqual(
      expected,
    );
    expect(b.status).toBe('pending');
    const nobody = await internal(
      'GET',
      '/internal/customers/0b6c7a8e-2222-4222-8222-222222222222/instances/count',
    );
    expect(nobody.json()).toEqual({ instance_count: 0, by_status: {} });
  });

  it('works with tenant-service end to end: suspending a tenant suspends its instances; deletion waits for them', async () => {
    const instance = await fresh();
    const admin = await createAdmin(stack.users, (email, password) =>
      stack.users.app.get(AdminAccountsService).createAdmin(email, { password }),
    );
    const suspended = await stack.tenants.request({
      method: 'POST',
      url: `/admin/tenants/${tenant.id}/suspend`,
      headers: bearer(admin),
      payload: { reason: 'fraud check' },
    });
    expect(suspended.statusCode).toBeLessThan(300);
    expect((await internal('GET', `/internal/instances/${instance.id}`)).json()).toMatchObject({
      desired_state: 'suspended',
    });
    const create = await stack.instances.request({
      method: 'POST',
      url: '/api/v1/instances/',
      headers: bearer(owner),
      payload: createBody(tenant.id),
    });
    expect(create.statusCode).toBe(409);
    expect(create.json()).toMatchObject({ code: 'TENANT_SUSPENDED' });

    const activated = await stack.tenants.request({
      method: 'POST',
      url: `/admin/tenants/${tenant.id}/activate`,
      headers: bearer(admin),
      payload: { reason: 'cleared' },
    });
    expect(activated.statusCode).toBeLessThan(300);
    expect((await internal('GET', `/internal/instances/${instance.id}`)).json()).toMatchObject({
      desired_state: 'stopped',
    });

    const refused = await stack.tenants.request({
      method: 'DELETE',
      url: `/api/v1/tenants/${tenant.id}`,
      headers: bearer(owner),
    });
    expect(refused.statusCode).toBe(409);
    expectStatus(
      await stack.instances.request({
        method: 'DELETE',
        url: `/api/v1/instances/${instance.id}`,
        headers: bearer(owner),
      }),
      202,
    );
    await observe(stack, instance.id, 'terminated');
    const deleted = await stack.tenants.request({
      method: 'DELETE',
      url: `/api/v1/tenants/${tenant.id}`,
      headers: bearer(owner),
    });
    expect(deleted.statusCode).toBe(204);
  });
});
