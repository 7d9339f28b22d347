/**
 * Plans are ceilings (409 PLAN_LIMIT_EXCEEDED, nothing written; a plan downgrade lowers instances) and
 * suspensions hold (each records its source; the customer lifts only their own; a suspended tenant's
 * instances refuse to come back up), against the real user-, tenant- and instance-service.
 */
import type { InstanceAction } from '@app/contracts';
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
  instanceRowCount,
  internalHeaders,
  newCustomer,
  newTenant,
  observe,
  Stack,
  startStack,
  TestTenant,
} from './support';

describe('instance-service: plan ceilings and suspension sources', () => {
  let stack: Stack;
  let admin: TestCustomer;
  const created: string[] = [];

  beforeAll(async () => {
    stack = await startStack({ user: UserModule, tenant: TenantModule });
    admin = await createAdmin(stack.users, (email, password) =>
      stack.users.app.get(AdminAccountsService).createAdmin(email, { password }),
    );
  });
  afterAll(async () => {
    if (!stack) return;
    await cleanupInstances(stack, created);
    await stack.close();
  });

  const tenantUse = async (owner: TestCustomer, tenant: TestTenant) => {
    const res = await stack.tenants.request({
      method: 'GET',
      url: `/api/v1/tenants/${tenant.id}`,
      headers: bearer(owner),
    });
    return res.json<{ instances_used: number }>().instances_used;
  };
  const action = (who: TestCustomer, id: string, name: InstanceAction, parameters: object = {}) =>
    stack.instances.request({
      method: 'POST',
      url: `/api/v1/instances/${id}/actions`,
      headers: bearer(who),
      payload: { action: name, parameters },
    });
  const row = async (id: string) =>
    (
      (await stack.db.query(
        `SELECT desired_state, suspension_sources, cpu_limit::float AS cpu_limit, memory_limit, storage_limit,
                generation FROM instances WHERE id = $1`,
        [id],
      )) as {
        desired_state: string;
        suspension_sources: string[];
        cpu_limit: number;
        memory_limit: string;
        storage_limit: string;
        generation: number;
      }[]
    )[0];
  const fresh = async (owner: TestCustomer, tenant: TestTenant, overrides: Record<string, unknown> = {}) => {
    const instance = await createInstance(stack, owner, createBody(tenant.id, overrides));
    created.push(instance.id);
    return instance;
  };

  describe('plans are ceilings', () => {
    it('refuses a starter tenant production resources: 409 with the ceiling, no row, no slot', async () => {
      const owner = await newCustomer(stack);
      const tenant = await newTenant(stack, owner, 'starter');
      const body = createBody(tenant.id, {
        instance_type: 'production',
        cpu_limit: 8,
        memory_limit: '16G',
        storage_limit: '100G',
      });
      const res = await stack.instances.request({
        method: 'POST',
        url: '/api/v1/instances/',
        headers: bearer(owner),
        payload: body,
      });
      expect(res.statusCode).toBe(409);
      expect(res.json()).toMatchObject({
        statusCode: 409,
        code: 'PLAN_LIMIT_EXCEEDED',
        details: [
          {
            plan: 'starter',
            fields: ['cpu_limit', 'memory_limit', 'storage_limit'],
            ceiling: { max_instances: 1, cpu_limit: 1, memory_limit: '2G', storage_limit: '10G' },
          },
        ],
      });
      expect(await instanceRowCount(stack, { databaseName: body.database_name as string })).toBe(0);
      expect(await tenantUse(owner, tenant)).toBe(0);

      // One field over is enough; the ceiling itself is fine, and unset limits stay within it.
      const oneOver = await stack.instances.request({
        method: 'POST',
        url: '/api/v1/instances/',
        headers: bearer(owner),
        payload: createBody(tenant.id, { cpu_limit: 1, memory_limit: '2049M', storage_limit: '10G' }),
      });
      expect(oneOver.json()).toMatchObject({
        code: 'PLAN_LIMIT_EXCEEDED',
        details: [{ fields: ['memory_limit'] }],
      });
      const atCeiling = await fresh(owner, tenant, {
        cpu_limit: 1,
        memory_limit: '2G',
        storage_limit: '10G',
      });
      expect(atCeiling).toMatchObject({ cpu_limit: 1, memory_limit: '2G', storage_limit: '10G' });
      expect(await tenantUse(owner, tenant)).toBe(1);
    });

    it('holds PUT to the ceiling too, and an admin plan downgrade lowers the instances above it', async () => {
      const owner = await newCustomer(stack);
      const tenant = await newTenant(stack, owner, 'professional');
      const big = await fresh(owner, tenant, { cpu_limit: 4, memory_limit: '8G', storage_limit: '50G' });
      const small = await fresh(owner, tenant, { cpu_limit: 1, memory_limit: '1G', storage_limit: '10G' });
      await observe(stack, big.id, 'running', { containerName: `odoo-${big.id.slice(0, 8)}` });
      const before = await row(big.id);
      const over = await stack.instances.request({
        method: 'PUT',
        url: `/api/v1/instances/${big.id}`,
        headers: bearer(owner),
        payload: { cpu_limit: 6 },
      });
      expect(over.statusCode).toBe(409);
      expect(over.json()).toMatchObject({
        code: 'PLAN_LIMIT_EXCEEDED',
        details: [{ ceiling: { cpu_limit: 4 } }],
      });
      expect(await row(big.id)).toEqual(before);

      const downgrade = await stack.tenants.request({
        method: 'PUT',
        url: `/api/v1/tenants/${tenant.id}`,
        headers: bearer(admin),
        payload: { plan: 'basic' },
      });
      expectStatus(downgrade, 200);
      expect(await row(big.id)).toMatchObject({ cpu_limit: 2, memory_limit: '4G', storage_limit: '20G' });
      const lowered = await row(big.id);
      expect(
        await stack.queue.getJob(lifecycleJobId(big.id, 'apply_limits', lowered!.generation)),
      ).toMatchObject({ name: 'apply_limits' });
      expect(await row(small.id)).toMatchObject({ cpu_limit: 1, memory_limit: '1G', storage_limit: '10G' });
    });
  });

  it('refuses backup, restore and upgrade at 100 % of the storage limit, until back under', async () => {
    const owner = await newCustomer(stack);
    const tenant = await newTenant(stack, owner);
    const instance = await fresh(owner, tenant, { storage_limit: '10G' });
    await observe(stack, instance.id, 'running', { containerName: `odoo-${instance.id.slice(0, 8)}` });
    const gib = 1024 ** 3;
    // As the worker's meter records it (instance-worker's InstanceUsageMeter).
    const measured = (storage: number, database: number) =>
      stack.db.query(
        `UPDATE instances SET storage_bytes = $2, database_bytes = $3, usage_measured_at = now() WHERE id = $1`,
        [instance.id, storage, database],
      );
    await measured(8 * gib, 2 * gib);
    const shown = await stack.instances.request({
      method: 'GET',
      url: `/api/v1/instances/${instance.id}`,
      headers: bearer(owner),
    });
    expect(shown.json()).toMatchObject({
      usage: { storage_bytes: 8 * gib, database_bytes: 2 * gib, measured_at: expect.any(String) },
    });
    for (const [name, parameters] of [
      ['backup', {}],
      ['restore', { backup_id: '00000000-0000-4000-8000-000000000000' }],
      ['upgrade', { version: '18.0' }],
    ] as const) {
      const res = await action(owner, instance.id, name, parameters);
      expect({ name, status: res.statusCode, code: res.json<{ code: string }>().code }).toEqual({
        name,
        status: 409,
        code: 'STORAGE_LIMIT_EXCEEDED',
      });
    }
    await measured(7 * gib, 2 * gib);
    expectStatus(await action(owner, instance.id, 'backup'), 202);
  });

  describe('suspensions record their source', () => {
    let owner: TestCustomer;
    let tenant: TestTenant;
    beforeEach(async () => {
      owner = await newCustomer(stack);
      tenant = await newTenant(stack, owner, 'professional');
    });

    it('lets the customer lift their own suspension', async () => {
      const instance = await fresh(owner, tenant);
      await observe(stack, instance.id, 'running');
      expectStatus(await action(owner, instance.id, 'suspend'), 202);
      expect(await row(instance.id)).toMatchObject({
        desired_state: 'suspended',
        suspension_sources: ['customer'],
      });
      await observe(stack, instance.id, 'suspended');
      expectStatus(await action(owner, instance.id, 'unsuspend'), 202);
      expect(await row(instance.id)).toMatchObject({ desired_state: 'running', suspension_sources: [] });
    });

    it("refuses the customer billing's suspension (409 SUSPENDED_BY_BILLING) until billing lifts it", async () => {
      const instance = await fresh(owner, tenant);
      await observe(stack, instance.id, 'running');
      const suspend = await stack.instances.request({
        method: 'PUT',
        url: `/internal/instances/${instance.id}/desired-state`,
        headers: internalHeaders(),
        payload: { desired_state: 'suspended', reason: 'overdue', actor: 'billing-service' },
      });
      expectStatus(suspend, 200);
      await observe(stack, instance.id, 'suspended');
      const before = await row(instance.id);
      expect(before).toMatchObject({ desired_state: 'suspended', suspension_sources: ['billing'] });

      const refused = await action(owner, instance.id, 'unsuspend');
      expect(refused.statusCode).toBe(409);
      expect(refused.json()).toMatchObject({
        code: 'SUSPENDED_BY_BILLING',
        details: [{ suspension_sources: ['billing'] }],
      });
      expect(await row(instance.id)).toEqual(before);
      const shown = await stack.instances.request({
        method: 'GET',
        url: `/api/v1/instances/${instance.id}`,
        headers: bearer(owner),
      });
      expect(shown.json()).toMatchObject({ suspension_sources: ['billing'], desired_state: 'suspended' });

      const lifted = await stack.instances.request({
        method: 'PUT',
        url: `/internal/instances/${instance.id}/desired-state`,
        headers: internalHeaders(),
        payload: { desired_state: 'running', reason: 'paid', actor: 'billing-service' },
      });
      expectStatus(lifted, 200);
      expect(await row(instance.id)).toMatchObject({ desired_state: 'running', suspension_sources: [] });
    });

    it("refuses the customer an admin's suspension (409 SUSPENDED_BY_ADMIN); the admin lifts it", async () => {
      const instance = await fresh(owner, tenant);
      await observe(stack, instance.id, 'running');
      expectStatus(await action(admin, instance.id, 'suspend'), 202);
      expect(await row(instance.id)).toMatchObject({ suspension_sources: ['admin'] });
      await observe(stack, instance.id, 'suspended');
      const refused = await action(owner, instance.id, 'unsuspend');
      expect(refused.statusCode).toBe(409);
      expect(refused.json()).toMatchObject({ code: 'SUSPENDED_BY_ADMIN' });
      expectStatus(await action(admin, instance.id, 'unsuspend'), 202);
      expect(await row(instance.id)).toMatchObject({ desired_state: 'running', suspension_sources: [] });
    });

    it('keeps a billing suspension when the admin lifts a tenant suspension', async () => {
      const instance = await fresh(owner, tenant);
      await observe(stack, instance.id, 'running');
      const suspendTenant = await stack.tenants.request({
        method: 'POST',
        url: `/admin/tenants/${tenant.id}/suspend`,
        headers: bearer(admin),
        payload: { reason: 'abuse' },
      });
      expect(suspendTenant.statusCode).toBe(201);
      expect(await row(instance.id)).toMatchObject({
        desired_state: 'suspended',
        suspension_sources: ['admin'],
      });
      const billing = await stack.instances.request({
        method: 'PUT',
        url: `/internal/instances/${instance.id}/desired-state`,
        headers: internalHeaders(),
        payload: { desired_state: 'suspended', reason: 'overdue', actor: 'billing-service' },
      });
      expectStatus(billing, 200);
      expect((await row(instance.id))?.suspension_sources.sort()).toEqual(['admin', 'billing']);
      const activate = await stack.tenants.request({
        method: 'POST',
        url: `/admin/tenants/${tenant.id}/activate`,
        headers: bearer(admin),
        payload: {},
      });
      expect(activate.statusCode).toBe(201);
      expect(await row(instance.id)).toMatchObject({
        desired_state: 'suspended',
        suspension_sources: ['billing'],
      });
    });

    it('refuses start, restart, unsuspend, backup, restore and upgrade while the tenant is suspended', async () => {
      const stopped = await fresh(owner, tenant);
      await observe(stack, stopped.id, 'stopped', { containerName: `odoo-${stopped.id.slice(0, 8)}` });
      const suspendTenant = await stack.tenants.request({
        method: 'POST',
        url: `/admin/tenants/${tenant.id}/suspend`,
        headers: bearer(admin),
        payload: { reason: 'abuse' },
      });
      expect(suspendTenant.statusCode).toBe(201);
      const before = await row(stopped.id);
      const refusals: [InstanceAction, object][] = [
        ['start', {}],
        ['restart', {}],
        ['unsuspend', {}],
        ['backup', {}],
        ['restore', { backup_id: '00000000-0000-4000-8000-000000000000' }],
        ['upgrade', { version: '18.0' }],
      ];
      for (const [name, parameters] of refusals) {
        const res = await action(owner, stopped.id, name, parameters);
        expect({ name, status: res.statusCode, code: res.json<{ code: string }>().code }).toEqual({
          name,
          status: 409,
          code: 'TENANT_SUSPENDED',
        });
      }
      expect(await row(stopped.id)).toEqual(before);
    });
  });
});
