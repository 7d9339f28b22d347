/**
 * DELETE /users/account against the real user-, tenant- and instance-service: the password is required,
 * live instances make it a 409 listing them, and `terminate_instances=true` terminates them through
 * instance-service's internal API before the account goes.
 */
import { randomBytes } from 'node:crypto';
import { DataSource } from 'typeorm';
import type { TestCustomer } from '@app/testing';
import { bearer, internalHeaders, TestPlatform } from './platform';

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

async function tenantWithInstance(owner: TestCustomer): Promise<{ tenantId: string; instanceId: string }> {
  const tenant = await platform.tenant.request({
    method: 'POST',
    url: '/api/v1/tenants',
    headers: bearer(owner),
    payload: { name: 'Acme', subdomain: `t-${randomBytes(5).toString('hex')}` },
  });
  expect(tenant.statusCode).toBe(201);
  const tenantId = tenant.json<{ id: string }>().id;
  tenantIds.push(tenantId);
  const db = `db_${randomBytes(5).toString('hex')}`;
  const instance = await platform.instance.request({
    method: 'POST',
    url: '/api/v1/instances/',
    headers: bearer(owner),
    payload: {
      tenant_id: tenantId,
      name: 'Acme ERP',
      odoo_version: '17.0',
      instance_type: 'development',
      cpu_limit: 1,
      memory_limit: '2G',
      storage_limit: '10G',
      admin_email: 'admin@acme.example',
      demo_data: false,
      database_name: db,
      subdomain: db.replace(/_/g, '-'),
    },
  });
  expect(instance.statusCode).toBe(201);
  return { tenantId, instanceId: instance.json<{ id: string }>().id };
}

const deleteAccount = (customer: TestCustomer, query: string, password: string) =>
  platform.user.request({
    method: 'DELETE',
    url: `/users/account?confirmation=DELETE${query}`,
    headers: bearer(customer),
    payload: { password },
  });

async function isActive(customer: TestCustomer): Promise<boolean> {
  const [row] = await platform.user.app
    .get(DataSource)
    .query(`SELECT is_active FROM users WHERE id = $1`, [customer.id]);
  return row.is_active as boolean;
}

const desiredState = async (instanceId: string): Promise<string> =>
  (
    await platform.instance.request({
      method: 'GET',
      url: `/internal/instances/${instanceId}`,
      headers: internalHeaders(),
    })
  ).json<{ desired_state: string }>().desired_state;

describe('DELETE /users/account', () => {
  it('answers 409 listing the live instances, and deletes nothing', async () => {
    const owner = await platform.customer();
    const { tenantId, instanceId } = await tenantWithInstance(owner);
    const res = await deleteAccount(owner, '', owner.password);
    expect(res.statusCode).toBe(409);
    expect(res.json()).toMatchObject({
      code: 'INSTANCES_STILL_LIVE',
      details: [
        {
          id: instanceId,
          tenant_id: tenantId,
          name: 'Acme ERP',
          status: expect.any(String),
          desired_state: 'running',
        },
      ],
    });
    expect(await isActive(owner)).toBe(true);
    expect(await desiredState(instanceId)).toBe('running');
    const explicitNo = await deleteAccount(owner, '&terminate_instances=false', owner.password);
    expect(explicitNo.statusCode).toBe(409);
  });

  it('refuses a wrong password with 403 PASSWORD_INCORRECT, even with terminate_instances=true', async () => {
    const owner = await platform.customer();
    const { instanceId } = await tenantWithInstance(owner);
    const res = await deleteAccount(owner, '&terminate_instances=true', 'Not-The-Passw0rd!');
    expect(res.statusCode).toBe(403);
    expect(res.json()).toMatchObject({ code: 'PASSWORD_INCORRECT' });
    expect(await isActive(owner)).toBe(true);
    expect(await desiredState(instanceId)).toBe('running');
  });

  it('with terminate_instances=true terminates every live instance through instance-service, then deletes', async () => {
    const owner = await platform.customer();
    const first = await tenantWithInstance(owner);
    const second = await tenantWithInstance(owner);
    // Another customer's instance is not touched.
    const stranger = await platform.customer();
    const theirs = await tenantWithInstance(stranger);

    const res = await deleteAccount(owner, '&terminate_instances=true', owner.password);
    expect(res.statusCode).toBe(200);
    expect(res.json<{ terminated_instances: string[] }>().terminated_instances.sort()).toEqual(
      [first.instanceId, second.instanceId].sort(),
    );
    expect(await isActive(owner)).toBe(false);
    expect(await desiredState(first.instanceId)).toBe('terminated');
    expect(await desiredState(second.instanceId)).toBe('terminated');
    expect(await desiredState(theirs.instanceId)).toBe('running');
    const live = await platform.instance.request({
      method: 'GET',
      url: `/internal/customers/${owner.id}/instances`,
      headers: internalHeaders(),
    });
    expect(live.json()).toEqual({ instances: [] });
  });

  it('keeps the internal routes for the service credential only', async () => {
    const owner = await platform.customer();
    for (const request of [
      { method: 'GET' as const, url: `/internal/customers/${owner.id}/instances` },
      { method: 'POST' as const, url: `/internal/customers/${owner.id}/instances/terminate` },
    ]) {
      const res = await platform.instance.request({
        ...request,
        headers: bearer(owner),
        payload: request.method === 'POST' ? { reason: 'x', actor: 'y' } : undefined,
      });
      expect(res.statusCode).toBe(401);
    }
  });
});
