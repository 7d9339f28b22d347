import { randomBytes } from 'node:crypto';
import { DataSource } from 'typeorm';
import type { TestCustomer } from '@app/testing';
import { bearer, internalHeaders, TestPlatform } from './platform';

/** tenant-service and instance-service together: quota, delete guard, stats and tenant suspension. */
const platform = new TestPlatform();

const tenantIds: string[] = [];

beforeAll(() => platform.start(['user', 'tenant', 'instance']));
afterAll(async () => {
  // No worker runs here: remove the rows so a worker started by a later suite does not provision them.
  await platform.instance.app
    .get(DataSource)
    .query(`DELETE FROM instances WHERE tenant_id = ANY($1)`, [tenantIds]);
  await platform.close();
});

async function createTenant(owner: TestCustomer, plan = 'basic') {
  const res = await platform.tenant.request({
    method: 'POST',
    url: '/api/v1/tenants',
    headers: bearer(owner),
    payload: { name: 'Acme', subdomain: `t-${randomBytes(5).toString('hex')}` },
  });
  expect(res.statusCode).toBe(201);
  const tenant = res.json<{ id: string }>();
  tenantIds.push(tenant.id);
  if (plan !== 'starter') {
    // Plans are not self-service: billing sets them through the internal API.
    const planned = await platform.tenant.request({
      method: 'PUT',
      url: `/internal/tenants/${tenant.id}/plan`,
      headers: internalHeaders(),
      payload: { plan, actor: 'test' },
    });
    expect(planned.statusCode).toBe(200);
  }
  return tenant;
}

function instanceBody(tenantId: string) {
  const db = `db_${randomBytes(5).toString('hex')}`;
  return {
    tenant_id: tenantId,
    name: 'Acme ERP',
    description: 'Main',
    odoo_version: '17.0',
    instance_type: 'development',
    cpu_limit: 1,
    memory_limit: '2G',
    storage_limit: '10G',
    admin_email: 'admin@acme.example',
    demo_data: false,
    database_name: db,
    subdomain: db.replace(/_/g, '-'),
    custom_addons: [],
  };
}

async function createInstance(owner: TestCustomer, tenantId: string) {
  return platform.instance.request({
    method: 'POST',
    url: '/api/v1/instances/',
    headers: bearer(owner),
    payload: instanceBody(tenantId),
  });
}

const getInstance = (owner: TestCustomer, id: string) =>
  platform.instance.request({ method: 'GET', url: `/api/v1/instances/${id}`, headers: bearer(owner) });

describe('tenants with instances', () => {
  it('enforces the plan quota on instance creation and refuses to delete a tenant that has instances', async () => {
    const owner = await platform.customer();
    const tenant = await createTenant(owner, 'starter');
    const first = await createInstance(owner, tenant.id);
    expect(first.statusCode).toBe(201);
    const second = await createInstance(owner, tenant.id);
    expect(second.statusCode).toBe(409);
    expect(second.json()).toMatchObject({ code: 'QUOTA_EXCEEDED' });

    const read = await platform.tenant.request({
      method: 'GET',
      url: `/api/v1/tenants/${tenant.id}`,
      headers: bearer(owner),
    });
    expect(read.json()).toMatchObject({ instances_used: 1, instances_free: 0 });

    const del = await platform.tenant.request({
      method: 'DELETE',
      url: `/api/v1/tenants/${tenant.id}`,
      headers: bearer(owner),
    });
    expect(del.statusCode).toBe(409);
    expect(del.json()).toMatchObject({ code: 'TENANT_HAS_INSTANCES' });
    expect(
      (
        await platform.tenant.request({
          method: 'GET',
          url: `/api/v1/tenants/${tenant.id}`,
          headers: bearer(owner),
        })
      ).statusCode,
    ).toBe(200);
  });

  it('deletes (softly) a tenant without instances', async () => {
    const owner = await platform.customer();
    const tenant = await createTenant(owner);
    const del = await platform.tenant.request({
      method: 'DELETE',
      url: `/api/v1/tenants/${tenant.id}`,
      headers: bearer(owner),
    });
    expect(del.statusCode).toBe(204);
    const gone = await platform.tenant.request({
      method: 'GET',
      url: `/api/v1/tenants/${tenant.id}`,
      headers: bearer(owner),
    });
    expect(gone.statusCode).toBe(404);
  });

  it('stats count the instances of the customer by status', async () => {
    const owner = await platform.customer();
    const tenant = await createTenant(owner);
    for (let i = 0; i < 2; i++) expect((await createInstance(owner, tenant.id)).statusCode).toBe(201);
    const stats = await platform.tenant.request({
      method: 'GET',
      url: `/api/v1/tenants/customer/${owner.id}/stats`,
      headers: bearer(owner),
    });
    expect(stats.statusCode).toBe(200);
    const body = stats.json();
    expect(body).toMatchObject({ tenants_owned: 1, quota: { used: 2, limit: 3 }, warnings: [] });
    expect(body.instances.total).toBe(2);
    expect(Object.values(body.instances.by_status as Record<string, number>).reduce((a, b) => a + b, 0)).toBe(
      2,
    );
  });

  it('suspending a tenant suspends its instances and refuses new ones; activating resumes them', async () => {
    const owner = await platform.customer();
    const admin = await platform.admin();
    const tenant = await createTenant(owner);
    const created = await createInstance(owner, tenant.id);
    expect(created.statusCode).toBe(201);
    const instanceId = created.json<{ id: string }>().id;

    const suspended = await platform.tenant.request({
      method: 'POST',
      url: `/admin/tenants/${tenant.id}/suspend`,
      headers: bearer(admin),
      payload: { reason: 'abuse report' },
    });
    expect(suspended.statusCode).toBe(201);
    expect(suspended.json()).toMatchObject({ tenant: { status: 'suspended' }, instances_affected: 1 });
    expect((await getInstance(owner, instanceId)).json()).toMatchObject({ desired_state: 'suspended' });
    const refused = await createInstance(owner, tenant.id);
    expect(refused.statusCode).toBe(409);

    const activated = await platform.tenant.request({
      method: 'POST',
      url: `/admin/tenants/${tenant.id}/activate`,
      headers: bearer(admin),
      payload: {},
    });
    expect(activated.statusCode).toBe(201);
    expect(activated.json()).toMatchObject({ tenant: { status: 'active' }, instances_affected: 1 });
    expect((await getInstance(owner, instanceId)).json()).toMatchObject({ desired_state: 'running' });
  });
});
