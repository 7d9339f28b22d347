import type { InjectOptions } from 'fastify';
import { createAdmin, TestCustomer } from '@app/testing';
import { AdminAccountsService } from '../../user-service/src/admin/admin-accounts.service';
import { AppModule as TenantModule } from '../../tenant-service/src/app.module';
import { AppModule as UserModule } from '../../user-service/src/app.module';
import {
  addMember,
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

/** Every route of the public API for one instance, with a harmless valid body where one is needed. */
function everyRoute(id: string): { name: string; request: Omit<InjectOptions, 'headers'> }[] {
  return [
    { name: 'GET one', request: { method: 'GET', url: `/api/v1/instances/${id}` } },
    { name: 'PUT', request: { method: 'PUT', url: `/api/v1/instances/${id}`, payload: { name: 'Renamed' } } },
    { name: 'DELETE', request: { method: 'DELETE', url: `/api/v1/instances/${id}` } },
    {
      name: 'POST actions',
      request: {
        method: 'POST',
        url: `/api/v1/instances/${id}/actions`,
        payload: { action: 'stop', parameters: {} },
      },
    },
    { name: 'GET status', request: { method: 'GET', url: `/api/v1/instances/${id}/status` } },
    { name: 'GET events', request: { method: 'GET', url: `/api/v1/instances/${id}/events` } },
    { name: 'GET backups', request: { method: 'GET', url: `/api/v1/instances/${id}/backups` } },
    { name: 'GET logs', request: { method: 'GET', url: `/api/v1/instances/${id}/logs?lines=10` } },
  ];
}

describe('instance-service: who may see and do what', () => {
  let stack: Stack;
  let owner: TestCustomer;
  let viewer: TestCustomer;
  let member: TestCustomer;
  let stranger: TestCustomer;
  let tenant: TestTenant;
  let instance: InstanceBody;
  const created: string[] = [];

  beforeAll(async () => {
    stack = await startStack({ user: UserModule, tenant: TenantModule });
  });
  beforeEach(async () => {
    [owner, viewer, member, stranger] = await Promise.all([
      newCustomer(stack),
      newCustomer(stack),
      newCustomer(stack),
      newCustomer(stack),
    ]);
    tenant = await newTenant(stack, owner);
    await addMember(stack, owner, tenant, viewer, 'viewer');
    await addMember(stack, owner, tenant, member, 'admin');
    instance = await createInstance(stack, owner, createBody(tenant.id));
    created.push(instance.id);
    await observe(stack, instance.id, 'running', { containerName: `odoo-${instance.id}` });
  });
  afterAll(async () => {
    if (!stack) return;
    await cleanupInstances(stack, created);
    await stack.close();
  });

  async function snapshot(id: string): Promise<string> {
    const rows = (await stack.db.query(
      `SELECT name, status, desired_state, generation, pending_operation, cpu_limit FROM instances WHERE id = $1`,
      [id],
    )) as unknown[];
    return JSON.stringify(rows);
  }

  it('answers 404 to another customer on every route, and changes nothing', async () => {
    const before = await snapshot(instance.id);
    for (const { name, request } of everyRoute(instance.id)) {
      const res = await stack.instances.request({ ...request, headers: bearer(stranger) });
      expect({ name, status: res.statusCode }).toEqual({ name, status: 404 });
      expect(res.json()).toMatchObject({ statusCode: 404, code: expect.stringMatching(/NOT_FOUND$/) });
      expect(res.body).not.toContain(instance.database_name);
    }
    expect(await snapshot(instance.id)).toBe(before);
    const list = await stack.instances.request({
      method: 'GET',
      url: `/api/v1/instances/?tenant_id=${tenant.id}`,
      headers: bearer(stranger),
    });
    expectStatus(list, 200);
    expect(list.json()).toMatchObject({ instances: [], total: 0 });
    const all = await stack.instances.request({
      method: 'GET',
      url: '/api/v1/instances/',
      headers: bearer(stranger),
    });
    expect(all.json<{ instances: InstanceBody[] }>().instances.map((i) => i.id)).not.toContain(instance.id);
  });

  it('answers 404 for an unknown or malformed id, and 401 without a token', async () => {
    for (const id of ['7b1c1a5e-0000-4000-8000-000000000000', 'not-a-uuid']) {
      for (const { request } of everyRoute(id)) {
        const res = await stack.instances.request({ ...request, headers: bearer(owner) });
        expect(res.statusCode).toBe(404);
      }
    }
    for (const { request } of everyRoute(instance.id)) {
      const res = await stack.instances.request(request);
      expect(res.statusCode).toBe(401);
      expect(res.json()).toMatchObject({ code: 'TOKEN_MISSING' });
    }
  });

  it('lets a viewer read (200) but not act, change or delete (403)', async () => {
    for (const url of [
      `/api/v1/instances/${instance.id}`,
      `/api/v1/instances/${instance.id}/status`,
      `/api/v1/instances/${instance.id}/events`,
      `/api/v1/instances/${instance.id}/backups`,
    ]) {
      const res = await stack.instances.request({ method: 'GET', url, headers: bearer(viewer) });
      expect({ url, status: res.statusCode }).toEqual({ url, status: 200 });
    }
    const list = await stack.instances.request({
      method: 'GET',
      url: '/api/v1/instances/',
      headers: bearer(viewer),
    });
    expect(list.json<{ instances: InstanceBody[] }>().instances.map((i) => i.id)).toEqual([instance.id]);

    const before = await snapshot(instance.id);
    const writes = everyRoute(instance.id).filter(({ request }) => request.method !== 'GET');
    for (const action of ['start', 'stop', 'restart', 'backup', 'suspend', 'terminate'] as const) {
      writes.push({
        name: `action ${action}`,
        request: { method: 'POST', url: `/api/v1/instances/${instance.id}/actions`, payload: { action } },
      });
    }
    for (const { name, request } of writes) {
      const res = await stack.instances.request({ ...request, headers: bearer(viewer) });
      expect({ name, status: res.statusCode }).toEqual({ name, status: 403 });
      expect(res.json()).toMatchObject({ code: 'TENANT_ROLE_FORBIDDEN' });
    }
    expect(await snapshot(instance.id)).toBe(before);
  });

  it('lets a tenant admin act (202)', async () => {
    const res = await stack.instances.request({
      method: 'POST',
      url: `/api/v1/instances/${instance.id}/actions`,
      headers: bearer(member),
      payload: { action: 'stop' },
    });
    expectStatus(res, 202);
    const events = await stack.instances.request({
      method: 'GET',
      url: `/api/v1/instances/${instance.id}/events`,
      headers: bearer(owner),
    });
    expect(events.json<{ events: { action: string; actor: string }[] }>().events[0]).toMatchObject({
      action: 'stop',
      actor: member.id,
    });
  });

  it('lets platform admins see every instance', async () => {
    const admin = await createAdmin(stack.users, (email, password) =>
      stack.users.app.get(AdminAccountsService).createAdmin(email, { password }),
    );
    const res = await stack.instances.request({
      method: 'GET',
      url: `/api/v1/instances/${instance.id}`,
      headers: bearer(admin),
    });
    expectStatus(res, 200);
    const list = await stack.instances.request({
      method: 'GET',
      url: `/api/v1/instances/?tenant_id=${tenant.id}`,
      headers: bearer(admin),
    });
    expect(list.json()).toMatchObject({ total: 1 });
  });

  it('refuses customer tokens on /internal/* (401), whoever the customer is', async () => {
    const routes: Omit<InjectOptions, 'headers'>[] = [
      { method: 'GET', url: `/internal/instances/${instance.id}` },
      {
        method: 'PUT',
        url: `/internal/instances/${instance.id}/desired-state`,
        payload: { desired_state: 'stopped', reason: 'x', actor: 'x' },
      },
      {
        method: 'PUT',
        url: `/internal/instances/${instance.id}/limits`,
        payload: { cpu_limit: 1, memory_limit: '1G', storage_limit: '10G' },
      },
      { method: 'POST', url: `/internal/tenants/${tenant.id}/suspend`, payload: { reason: 'x' } },
      { method: 'POST', url: `/internal/tenants/${tenant.id}/resume`, payload: { reason: 'x' } },
      { method: 'GET', url: `/internal/tenants/${tenant.id}/instances/count` },
      { method: 'GET', url: `/internal/customers/${owner.id}/instances/count` },
    ];
    const before = await snapshot(instance.id);
    for (const request of routes) {
      for (const headers of [
        {},
        bearer(owner),
        bearer(stranger),
        { 'x-internal-token': owner.access_token },
      ]) {
        const res = await stack.instances.request({ ...request, headers });
        expect({ url: request.url, status: res.statusCode }).toEqual({ url: request.url, status: 401 });
        expect(res.json()).toMatchObject({ code: 'INTERNAL_AUTH_REQUIRED' });
      }
    }
    expect(await snapshot(instance.id)).toBe(before);
    const withService = await stack.instances.request({
      method: 'GET',
      url: `/internal/instances/${instance.id}`,
      headers: internalHeaders(),
    });
    expectStatus(withService, 200);
  });
});
