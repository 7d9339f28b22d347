import { createServer, IncomingMessage, Server } from 'node:http';
import { AddressInfo } from 'node:net';
import { InstanceSecrets } from '@app/instance-data';
import { lifecycleJobId } from '@app/queue';
import { ServiceHarness, startService, TestCustomer, UNREACHABLE_SERVICE_URL } from '@app/testing';
import { AppModule as InstanceModule } from '../src/app.module';
import { adminPasswordHash } from '../src/instances/admin-password';
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
  instanceRowCount,
  instanceServiceEnv,
  newCustomer,
  newTenant,
  Stack,
  startStack,
  TestTenant,
  uniqueDatabaseName,
} from './support';

interface InstanceRow {
  admin_password_hash: string;
  admin_password_enc: string | null;
  custom_addons: string;
  environment_vars: string;
  metadata: string;
}

describe('instance-service: creating instances', () => {
  let stack: Stack;
  const created: string[] = [];

  beforeAll(async () => {
    stack = await startStack({ user: UserModule, tenant: TenantModule });
  });
  afterAll(async () => {
    if (!stack) return;
    await cleanupInstances(stack, created);
    await stack.close();
  });

  async function tenantUse(owner: TestCustomer, tenant: TestTenant): Promise<number> {
    const res = await stack.tenants.request({
      method: 'GET',
      url: `/api/v1/tenants/${tenant.id}`,
      headers: bearer(owner),
    });
    expectStatus(res, 200);
    return res.json<{ instances_used: number }>().instances_used;
  }

  it('answers 201 with the instance and the admin password once; it is stored only hashed and encrypted', async () => {
    const owner = await newCustomer(stack);
    const tenant = await newTenant(stack, owner);
    const body = createBody(tenant.id);
    const instance = await createInstance(stack, owner, body);
    created.push(instance.id);

    const password = instance.admin_password ?? '';
    expect(password).toMatch(/^[A-Za-z0-9!@#$*\-_+=]{20}$/);
    expect(instance).toMatchObject({
      tenant_id: tenant.id,
      customer_id: owner.id,
      name: 'Acme ERP',
      description: 'Main company instance',
      odoo_version: '17.0',
      instance_type: 'development',
      cpu_limit: 1.5,
      memory_limit: '2G',
      storage_limit: '10G',
      admin_email: 'admin@acme.example',
      demo_data: false,
      database_name: body.database_name,
      subdomain: body.subdomain,
      status: 'pending',
      desired_state: 'running',
    });

    // Never returned again: not by get, list, status or any other read.
    for (const url of [
      `/api/v1/instances/${instance.id}`,
      `/api/v1/instances/?tenant_id=${tenant.id}`,
      `/api/v1/instances/${instance.id}/status`,
      `/api/v1/instances/${instance.id}/events`,
    ]) {
      const res = await stack.instances.request({ method: 'GET', url, headers: bearer(owner) });
      expectStatus(res, 200);
      expect(res.body).not.toContain(password);
      expect(res.body).not.toContain('admin_password');
    }

    const [row] = (await stack.db.query(
      `SELECT admin_password_hash, admin_password_enc, custom_addons::text, environment_vars::text, metadata::text
         FROM instances WHERE id = $1`,
      [instance.id],
    )) as InstanceRow[];
    expect(row).toBeDefined();
    expect(JSON.stringify(row)).not.toContain(password);
    expect(row!.admin_password_hash).toBe(adminPasswordHash(password));
    expect(row!.admin_password_hash).toMatch(/^sha256:[A-Za-z0-9_-]{43}$/);
    const secrets = stack.instances.app.get(InstanceSecrets);
    expect(secrets.decrypt(instance.id, 'admin_password', row!.admin_password_enc ?? '')).toBe(password);
  });

  it('round-trips custom_addons, disabled_modules, environment_vars and metadata exactly', async () => {
    const owner = await newCustomer(stack);
    const tenant = await newTenant(stack, owner);
    const json = {
      custom_addons: ['z_last', 'a_first', 'Mixed-Case_1'],
      disabled_modules: [],
      environment_vars: {
        ODOO_ZZ: 'last',
        ODOO_AA: 'first',
        ODOO_EMPTY: '',
        ODOO_UNICODE: 'héllo – ✓',
        ODOO_QUOTES: '"\'\\',
      },
      metadata: {
        z: 1,
        a: [3, 2.5, -1, 1e21, 0.1, null, false, 'x', { k: [] }],
        nested: { deeper: { deepest: ['é', '🙂'] }, empty_list: [], empty_object: {} },
        big: 12345678901234,
        '': 'empty key',
      },
    };
    const instance = await createInstance(stack, owner, createBody(tenant.id, json));
    created.push(instance.id);
    const fields = Object.keys(json) as (keyof typeof json)[];
    const fromGet = await stack.instances.request({
      method: 'GET',
      url: `/api/v1/instances/${instance.id}`,
      headers: bearer(owner),
    });
    for (const answer of [instance, fromGet.json<InstanceBody>()]) {
      for (const field of fields) {
        // Same values and the same key order (the columns are json, not jsonb).
        expect(JSON.stringify(answer[field])).toBe(JSON.stringify(json[field]));
      }
    }
  });

  it('accepts the collection path with and without the trailing slash, and applies the defaults', async () => {
    const owner = await newCustomer(stack);
    const tenant = await newTenant(stack, owner);
    const databaseName = uniqueDatabaseName('Defaults');
    const res = await stack.instances.request({
      method: 'POST',
      url: '/api/v1/instances',
      headers: bearer(owner),
      payload: {
        tenant_id: tenant.id,
        name: 'Minimal',
        admin_email: 'a@b.example',
        database_name: databaseName,
      },
    });
    expectStatus(res, 201);
    const instance = res.json<InstanceBody>();
    created.push(instance.id);
    expect(instance).toMatchObject({
      odoo_version: '17.0',
      instance_type: 'development',
      cpu_limit: 1,
      memory_limit: '1G',
      storage_limit: '10G',
      demo_data: false,
      database_name: databaseName.toLowerCase(),
      subdomain: databaseName.toLowerCase().replace(/_/g, '-'),
      custom_addons: [],
      disabled_modules: [],
      environment_vars: {},
      metadata: {},
      description: null,
    });
    const list = await stack.instances.request({
      method: 'GET',
      url: `/api/v1/instances?tenant_id=${tenant.id}`,
      headers: bearer(owner),
    });
    expectStatus(list, 200);
    expect(list.json<{ total: number }>().total).toBe(1);
  });

  it('enqueues the provisioning job with its deterministic id when entitled at once (BILLING_PROVIDER=none)', async () => {
    const owner = await newCustomer(stack);
    const tenant = await newTenant(stack, owner);
    const instance = await createInstance(stack, owner, createBody(tenant.id));
    created.push(instance.id);
    const jobId = lifecycleJobId(instance.id, 'provision', 1);
    const job = await stack.queue.getJob(jobId);
    expect(job).toMatchObject({
      id: jobId,
      name: 'provision',
      state: 'waiting',
      data: { instance_id: instance.id, generation: 1, requested_by: owner.id },
    });
    const events = await stack.instances.request({
      method: 'GET',
      url: `/api/v1/instances/${instance.id}/events`,
      headers: bearer(owner),
    });
    expect(events.json<{ events: unknown[] }>().events).toEqual([
      expect.objectContaining({
        action: 'create',
        from_status: null,
        to_status: 'pending',
        desired_state: 'running',
        actor: owner.id,
        job_id: jobId,
        created_at: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
      }),
    ]);
  });

  describe('validation: 400 in the envelope, nothing written, no slot taken', () => {
    let owner: TestCustomer;
    let tenant: TestTenant;
    beforeEach(async () => {
      owner = await newCustomer(stack);
      tenant = await newTenant(stack, owner);
    });

    const invalid: [string, Record<string, unknown>, string][] = [
      ['an unknown field', { admin_password: 'Secret123!' }, 'admin_password'],
      ['a database name starting with "_"', { database_name: '_acme' }, 'database_name'],
      ['a database name ending with "-"', { database_name: 'acme-' }, 'database_name'],
      ['a database name with a space', { database_name: 'acme corp' }, 'database_name'],
      ['a database name of 51 characters', { database_name: 'a'.repeat(51) }, 'database_name'],
      ['the reserved database name postgres', { database_name: 'postgres' }, 'database_name'],
      ['the reserved database name template1', { database_name: 'Template1' }, 'database_name'],
      ['a platform database name', { database_name: 'billing_test' }, 'database_name'],
      ['another platform database name', { database_name: 'instance' }, 'database_name'],
      ['a subdomain of 2 characters', { subdomain: 'ab' }, 'subdomain'],
      ['a subdomain starting with "-"', { subdomain: '-acme' }, 'subdomain'],
      ['a subdomain with "_"', { subdomain: 'acme_prod' }, 'subdomain'],
      ['the reserved subdomain api', { subdomain: 'api' }, 'subdomain'],
      ['memory in GB', { memory_limit: '2GB' }, 'memory_limit'],
      ['memory of zero', { memory_limit: '0G' }, 'memory_limit'],
      ['storage in T', { storage_limit: '1T' }, 'storage_limit'],
      ['a fractional size', { storage_limit: '1.5G' }, 'storage_limit'],
      ['cpu below 0.1', { cpu_limit: 0.05 }, 'cpu_limit'],
      ['cpu as a string', { cpu_limit: '2' }, 'cpu_limit'],
      ['cpu above any plan', { cpu_limit: 8.5 }, 'cpu_limit'],
      ['storage below the minimum', { storage_limit: '1023M' }, 'storage_limit'],
      ['memory below the minimum', { memory_limit: '128M' }, 'memory_limit'],
      ['an unknown Odoo version', { odoo_version: '15.0' }, 'odoo_version'],
      ['an unknown instance type', { instance_type: 'prod' }, 'instance_type'],
      ['an addon name with a space', { custom_addons: ['web responsive'] }, 'custom_addons'],
      ['an addon name of 101 characters', { custom_addons: ['a'.repeat(101)] }, 'custom_addons'],
      ['a duplicated addon', { custom_addons: ['web', 'web'] }, 'custom_addons'],
      ['a non-string addon', { disabled_modules: [42] }, 'disabled_modules'],
      ['environment_vars setting HOST', { environment_vars: { HOST: 'evil.example' } }, 'environment_vars'],
      ['environment_vars setting PASSWORD', { environment_vars: { PASSWORD: 'x' } }, 'environment_vars'],
      ['environment_vars setting PGHOST', { environment_vars: { PGHOST: 'x' } }, 'environment_vars'],
      ['environment_vars setting PORT', { environment_vars: { PORT: '5433' } }, 'environment_vars'],
      ['environment_vars setting ODOO_RC', { environment_vars: { ODOO_RC: '/tmp/x' } }, 'environment_vars'],
      ['a lower-case odoo_ name', { environment_vars: { odoo_workers: '2' } }, 'environment_vars'],
      ['a non-string environment value', { environment_vars: { ODOO_WORKERS: 2 } }, 'environment_vars'],
      ['an invalid variable name', { environment_vars: { '1ABC': 'x' } }, 'environment_vars'],
      ['metadata that is a list', { metadata: [1, 2] }, 'metadata'],
      ['an admin email that is no email', { admin_email: 'admin' }, 'admin_email'],
      ['a tenant id that is no UUID', { tenant_id: 'tenant-1' }, 'tenant_id'],
      ['a name of 101 characters', { name: 'n'.repeat(101) }, 'name'],
      ['a description of 501 characters', { description: 'd'.repeat(501) }, 'description'],
      ['demo_data as a string', { demo_data: 'yes' }, 'demo_data'],
    ];

    it.each(invalid)('refuses %s', async (_what, override, field) => {
      const body = createBody(tenant.id, override);
      const res = await stack.instances.request({
        method: 'POST',
        url: '/api/v1/instances/',
        headers: bearer(owner),
        payload: body,
      });
      expect(res.statusCode).toBe(400);
      expect(res.json()).toMatchObject({
        statusCode: 400,
        error: 'Bad Request',
        code: 'VALIDATION_FAILED',
        request_id: expect.any(String),
        details: expect.arrayContaining([expect.objectContaining({ field })]),
      });
      expect(await instanceRowCount(stack, { tenantId: tenant.id })).toBe(0);
      expect(await tenantUse(owner, tenant)).toBe(0);
    });

    it.each(['BASH_ENV', 'ENV', 'LD_PRELOAD', 'PYTHONPATH', 'PYTHONWARNINGS'])(
      'refuses environment_vars.%s (allowlist: ODOO_* and a documented few), naming it',
      async (name) => {
        const res = await stack.instances.request({
          method: 'POST',
          url: '/api/v1/instances/',
          headers: bearer(owner),
          payload: createBody(tenant.id, { environment_vars: { ODOO_WORKERS: '2', [name]: '/tmp/x' } }),
        });
        expect(res.statusCode).toBe(400);
        const body = res.json<{ code: string; message: string; details: { field: string }[] }>();
        expect(body.code).toBe('VALIDATION_FAILED');
        expect(body.message).toContain(`"${name}"`);
        expect(body.details).toEqual([expect.objectContaining({ field: 'environment_vars' })]);
        expect(await instanceRowCount(stack, { tenantId: tenant.id })).toBe(0);
      },
    );

    it.each(['login', 'support', 'dashboard', 'account'])(
      'refuses the subdomain %s, reserved platform-wide (the same list as tenant-service)',
      async (subdomain) => {
        const res = await stack.instances.request({
          method: 'POST',
          url: '/api/v1/instances/',
          headers: bearer(owner),
          payload: createBody(tenant.id, { subdomain }),
        });
        expect(res.statusCode).toBe(400);
        expect(res.json()).toMatchObject({
          code: 'VALIDATION_FAILED',
          details: [expect.objectContaining({ field: 'subdomain' })],
        });
        const check = await stack.instances.request({
          method: 'GET',
          url: `/api/v1/instances/check-subdomain/${subdomain}`,
          headers: bearer(owner),
        });
        expect(check.json()).toMatchObject({ subdomain, available: false });
        const tenantCheck = await stack.tenants.request({
          method: 'GET',
          url: `/api/v1/tenants/check-subdomain/${subdomain}`,
          headers: bearer(owner),
        });
        expect(tenantCheck.json()).toMatchObject({ available: false });
        expect(await instanceRowCount(stack, { tenantId: tenant.id })).toBe(0);
      },
    );

    it('refuses a body that is not JSON and a missing required field', async () => {
      const notJson = await stack.instances.request({
        method: 'POST',
        url: '/api/v1/instances/',
        headers: { ...bearer(owner), 'content-type': 'application/json' },
        payload: '{"tenant_id":',
      });
      expect(notJson.statusCode).toBe(400);
      const { database_name: _omitted, ...body } = createBody(tenant.id);
      const missing = await stack.instances.request({
        method: 'POST',
        url: '/api/v1/instances/',
        headers: bearer(owner),
        payload: body,
      });
      expect(missing.statusCode).toBe(400);
      expect(missing.json()).toMatchObject({
        details: [expect.objectContaining({ field: 'database_name' })],
      });
      expect(await instanceRowCount(stack, { tenantId: tenant.id })).toBe(0);
    });

    it("accepts the plan's ceilings exactly, whatever the instance type", async () => {
      // basic: 2 CPUs, 4G, 20G per instance (@app/tenancy TENANT_PLAN_CEILINGS)
      for (const [type, memory] of [
        ['staging', '4G'],
        ['production', '4096M'],
      ] as const) {
        const instance = await createInstance(
          stack,
          owner,
          createBody(tenant.id, {
            instance_type: type,
            cpu_limit: 2,
            memory_limit: memory,
            storage_limit: '20G',
          }),
        );
        created.push(instance.id);
        expect(instance).toMatchObject({ instance_type: type, cpu_limit: 2, memory_limit: memory });
      }
    });
  });

  it('keeps subdomains and database names unique among live instances (409), whoever holds them', async () => {
    const first = await newCustomer(stack);
    const second = await newCustomer(stack);
    const tenantA = await newTenant(stack, first);
    const tenantB = await newTenant(stack, second);
    const taken = await createInstance(
      stack,
      first,
      createBody(tenantA.id, { subdomain: `sd-${uniqueDatabaseName('x').slice(2)}` }),
    );
    created.push(taken.id);

    const sameDatabase = await stack.instances.request({
      method: 'POST',
      url: '/api/v1/instances/',
      headers: bearer(second),
      payload: createBody(tenantB.id, { database_name: taken.database_name.toUpperCase() }),
    });
    expect(sameDatabase.statusCode).toBe(409);
    expect(sameDatabase.json()).toMatchObject({ code: 'DATABASE_NAME_TAKEN' });

    const sameSubdomain = await stack.instances.request({
      method: 'POST',
      url: '/api/v1/instances/',
      headers: bearer(second),
      payload: createBody(tenantB.id, { subdomain: taken.subdomain }),
    });
    expect(sameSubdomain.statusCode).toBe(409);
    expect(sameSubdomain.json()).toMatchObject({ code: 'SUBDOMAIN_TAKEN' });
    expect(await instanceRowCount(stack, { tenantId: tenantB.id })).toBe(0);
    expect(await tenantUse(second, tenantB)).toBe(0);

    // Without a subdomain, the default is derived from the database name, and made unique when taken.
    const derived = await createInstance(
      stack,
      second,
      createBody(tenantB.id, { subdomain: undefined, database_name: taken.subdomain.replace(/-/g, '_') }),
    );
    created.push(derived.id);
    expect(derived.subdomain).toMatch(new RegExp(`^${taken.subdomain}-[0-9a-f]{4}$`));

    const check = async (subdomain: string) =>
      (
        await stack.instances.request({
          method: 'GET',
          url: `/api/v1/instances/check-subdomain/${subdomain}`,
          headers: bearer(second),
        })
      ).json<{ available: boolean; message: string }>();
    expect(await check(taken.subdomain)).toMatchObject({ available: false, message: 'Already taken' });
    expect(await check(`free-${taken.subdomain}`)).toMatchObject({ available: true, message: 'Available' });
    expect(await check('api')).toMatchObject({ available: false, message: 'Reserved' });
    const malformed = await stack.instances.request({
      method: 'GET',
      url: '/api/v1/instances/check-subdomain/-bad-',
      headers: bearer(second),
    });
    expect(malformed.statusCode).toBe(400);
  });

  it('lets exactly one of two concurrent creates take the last slot (201 + 409 QUOTA_EXCEEDED)', async () => {
    const owner = await newCustomer(stack);
    const tenant = await newTenant(stack, owner, 'starter');
    const [a, b] = await Promise.all(
      // starter: 1 CPU per instance
      [createBody(tenant.id, { cpu_limit: 1 }), createBody(tenant.id, { cpu_limit: 1 })].map((payload) =>
        stack.instances.request({
          method: 'POST',
          url: '/api/v1/instances/',
          headers: bearer(owner),
          payload,
        }),
      ),
    );
    const statuses = [a!.statusCode, b!.statusCode].sort();
    expect(statuses).toEqual([201, 409]);
    const winner = [a!, b!].find((r) => r.statusCode === 201)!;
    const loser = [a!, b!].find((r) => r.statusCode === 409)!;
    created.push(winner.json<InstanceBody>().id);
    expect(loser.json()).toMatchObject({ code: 'QUOTA_EXCEEDED', statusCode: 409 });
    expect(await instanceRowCount(stack, { tenantId: tenant.id })).toBe(1);
    expect(await tenantUse(owner, tenant)).toBe(1);

    // Terminating gives the slot back.
    const terminated = await stack.instances.request({
      method: 'DELETE',
      url: `/api/v1/instances/${winner.json<InstanceBody>().id}`,
      headers: bearer(owner),
    });
    expectStatus(terminated, 202);
    expect(await tenantUse(owner, tenant)).toBe(0);
    const next = await createInstance(stack, owner, createBody(tenant.id, { cpu_limit: 1 }));
    created.push(next.id);
  });

  it('lets owners and admins of the tenant create, not viewers (403) nor strangers (404)', async () => {
    const owner = await newCustomer(stack);
    const admin = await newCustomer(stack);
    const viewer = await newCustomer(stack);
    const stranger = await newCustomer(stack);
    const tenant = await newTenant(stack, owner);
    await addMember(stack, owner, tenant, admin, 'admin');
    await addMember(stack, owner, tenant, viewer, 'viewer');

    const byAdmin = await createInstance(stack, admin, createBody(tenant.id));
    created.push(byAdmin.id);
    expect(byAdmin.customer_id).toBe(admin.id);

    const byViewer = await stack.instances.request({
      method: 'POST',
      url: '/api/v1/instances/',
      headers: bearer(viewer),
      payload: createBody(tenant.id),
    });
    expect(byViewer.statusCode).toBe(403);
    expect(byViewer.json()).toMatchObject({ code: 'TENANT_ROLE_FORBIDDEN' });
    for (const tenantId of [tenant.id, '00000000-0000-4000-8000-000000000000']) {
      const byStranger = await stack.instances.request({
        method: 'POST',
        url: '/api/v1/instances/',
        headers: bearer(stranger),
        payload: createBody(tenantId),
      });
      expect(byStranger.statusCode).toBe(404);
    }
    const anonymous = await stack.instances.request({
      method: 'POST',
      url: '/api/v1/instances/',
      payload: createBody(tenant.id),
    });
    expect(anonymous.statusCode).toBe(401);
    expect(await instanceRowCount(stack, { tenantId: tenant.id })).toBe(1);
    expect(await tenantUse(owner, tenant)).toBe(1);
  });

  it('answers 503 and writes nothing when tenant-service is down', async () => {
    const owner = await newCustomer(stack);
    const tenant = await newTenant(stack, owner);
    const isolated = await startService(
      InstanceModule,
      'instance-service',
      instanceServiceEnv({ TENANT_SERVICE_URL: UNREACHABLE_SERVICE_URL, QUEUE_PREFIX: stack.queuePrefix }),
    );
    try {
      const res = await isolated.request({
        method: 'POST',
        url: '/api/v1/instances/',
        headers: bearer(owner),
        payload: createBody(tenant.id),
      });
      expect(res.statusCode).toBe(503);
      expect(res.json()).toMatchObject({
        code: 'DEPENDENCY_UNAVAILABLE',
        details: [{ dependency: 'tenant-service' }],
      });
      expect(await instanceRowCount(stack, { tenantId: tenant.id })).toBe(0);
    } finally {
      await isolated.close();
    }
  });

  describe('with BILLING_PROVIDER=killbill', () => {
    let billing: Server;
    let billingUrl: string;
    let answer: { status: number; body: unknown };
    const received: { path: string; body: Record<string, unknown> }[] = [];
    let killbill: ServiceHarness;
    let unreachable: ServiceHarness;

    async function readJson(req: IncomingMessage): Promise<Record<string, unknown>> {
      const chunks: Buffer[] = [];
      for await (const chunk of req) chunks.push(chunk as Buffer);
      return JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}') as Record<string, unknown>;
    }

    beforeAll(async () => {
      billing = createServer((req, res) => {
        void readJson(req).then((body) => {
          received.push({ path: req.url ?? '', body });
          res
            .writeHead(answer.status, { 'content-type': 'application/json' })
            .end(JSON.stringify(answer.body));
        });
      });
      await new Promise<void>((resolve) => billing.listen(0, '127.0.0.1', resolve));
      billingUrl = `http://127.0.0.1:${(billing.address() as AddressInfo).port}`;
      const env = {
        TENANT_SERVICE_URL: stack.urls.tenant,
        QUEUE_PREFIX: stack.queuePrefix,
        BILLING_PROVIDER: 'killbill',
      };
      killbill = await startService(
        InstanceModule,
        'instance-service',
        instanceServiceEnv({ ...env, BILLING_SERVICE_URL: billingUrl }),
      );
      unreachable = await startService(
        InstanceModule,
        'instance-service',
        instanceServiceEnv({ ...env, BILLING_SERVICE_URL: UNREACHABLE_SERVICE_URL }),
      );
    });
    afterAll(async () => {
      await killbill?.close();
      await unreachable?.close();
      await new Promise<void>((resolve) => billing.close(() => resolve()));
    });

    it('creates the subscription and stays pending (no job) until billing sets the desired state', async () => {
      const owner = await newCustomer(stack);
      const tenant = await newTenant(stack, owner);
      answer = {
        status: 201,
        body: {
          subscription_id: 'sub-1',
          instance_id: 'x',
          plan_name: 'basic-monthly',
          phase: 'TRIAL',
          state: 'ACTIVE',
          trial_ends_at: null,
          entitled: true,
        },
      };
      const res = await killbill.request({
        method: 'POST',
        url: '/api/v1/instances/',
        headers: bearer(owner),
        payload: createBody(tenant.id, { plan_name: 'basic-monthly', cpu_limit: 1 }),
      });
      expectStatus(res, 201);
      const instance = res.json<InstanceBody>();
      created.push(instance.id);
      expect(instance).toMatchObject({
        status: 'pending',
        desired_state: 'stopped',
        plan_name: 'basic-monthly',
      });
      expect(received.at(-1)).toEqual({
        path: '/internal/subscriptions',
        body: {
          tenant_id: tenant.id,
          instance_id: instance.id,
          customer_id: owner.id,
          plan_name: 'basic-monthly',
        },
      });
      const jobs = await stack.queue.queue.getJobs(['waiting', 'delayed', 'active']);
      expect(jobs.filter((j) => j.id?.startsWith(instance.id))).toEqual([]);
      expect(await tenantUse(owner, tenant)).toBe(1);
    });

    it("applies the billing plan's entitlements from the start, and refuses limits above them", async () => {
      const owner = await newCustomer(stack);
      const tenant = await newTenant(stack, owner);
      answer = {
        status: 201,
        body: {
          subscription_id: 'sub-2',
          instance_id: 'x',
          plan_name: 'standard-monthly',
          phase: 'TRIAL',
          state: 'ACTIVE',
          trial_ends_at: null,
          entitled: true,
        },
      };
      const res = await killbill.request({
        method: 'POST',
        url: '/api/v1/instances/',
        headers: bearer(owner),
        payload: createBody(tenant.id, {
          plan_name: 'standard-monthly',
          cpu_limit: undefined,
          memory_limit: undefined,
          storage_limit: undefined,
        }),
      });
      expectStatus(res, 201);
      created.push(res.json<InstanceBody>().id);
      // standard-monthly: 2 CPUs, 4G, 20G (@app/tenancy BILLING_PLAN_CEILINGS), within the basic tenant plan
      expect(res.json()).toMatchObject({ cpu_limit: 2, memory_limit: '4G', storage_limit: '20G' });

      const before = received.length;
      const over = createBody(tenant.id, { plan_name: 'basic-monthly', cpu_limit: 2 });
      const refused = await killbill.request({
        method: 'POST',
        url: '/api/v1/instances/',
        headers: bearer(owner),
        payload: over,
      });
      expect(refused.statusCode).toBe(409);
      expect(refused.json()).toMatchObject({
        code: 'PLAN_LIMIT_EXCEEDED',
        details: [{ plan: 'basic / basic-monthly', fields: ['cpu_limit'], ceiling: { cpu_limit: 1 } }],
      });
      expect(received.length).toBe(before);
      expect(await instanceRowCount(stack, { databaseName: over.database_name as string })).toBe(0);
      expect(await tenantUse(owner, tenant)).toBe(1);
    });

    it('answers 503 and leaves no row and no reservation when billing-service is unreachable', async () => {
      const owner = await newCustomer(stack);
      const tenant = await newTenant(stack, owner);
      const body = createBody(tenant.id, { plan_name: 'basic-monthly', cpu_limit: 1 });
      const res = await unreachable.request({
        method: 'POST',
        url: '/api/v1/instances/',
        headers: bearer(owner),
        payload: body,
      });
      expect(res.statusCode).toBe(503);
      expect(res.json()).toMatchObject({
        code: 'DEPENDENCY_UNAVAILABLE',
        details: [{ dependency: 'billing-service' }],
      });
      expect(await instanceRowCount(stack, { databaseName: body.database_name as string })).toBe(0);
      expect(await tenantUse(owner, tenant)).toBe(0);
    });

    it('passes a refused plan on as 400 UNKNOWN_PLAN, and a 5xx as 503, leaving nothing behind', async () => {
      const owner = await newCustomer(stack);
      const tenant = await newTenant(stack, owner);
      for (const [status, expected, code] of [
        [400, 400, 'UNKNOWN_PLAN'],
        [500, 503, 'DEPENDENCY_UNAVAILABLE'],
      ] as const) {
        answer = { status, body: { code: 'X' } };
        const res = await killbill.request({
          method: 'POST',
          url: '/api/v1/instances/',
          headers: bearer(owner),
          payload: createBody(tenant.id, { plan_name: 'no-such-plan' }),
        });
        expect(res.statusCode).toBe(expected);
        expect(res.json()).toMatchObject({ code });
      }
      expect(await instanceRowCount(stack, { tenantId: tenant.id })).toBe(0);
      expect(await tenantUse(owner, tenant)).toBe(0);
    });

    it('passes billing’s 409 on with its own code and message, leaving nothing behind', async () => {
      const owner = await newCustomer(stack);
      const tenant = await newTenant(stack, owner);
      for (const [body, code, message] of [
        [
          { code: 'ACCOUNT_OVERDUE', message: 'The account has overdue invoices' },
          'ACCOUNT_OVERDUE',
          'The account has overdue invoices',
        ],
        [
          { code: 'TRIAL_ALREADY_USED', message: 'This tenant has already had its free trial' },
          'TRIAL_ALREADY_USED',
          'This tenant has already had its free trial',
        ],
        ['not an envelope', 'SUBSCRIPTION_REFUSED', 'billing-service refused the subscription'],
      ] as const) {
        answer = { status: 409, body };
        const res = await killbill.request({
          method: 'POST',
          url: '/api/v1/instances/',
          headers: bearer(owner),
          payload: createBody(tenant.id, { plan_name: 'basic-monthly', cpu_limit: 1 }),
        });
        expect(res.statusCode).toBe(409);
        expect(res.json()).toMatchObject({ statusCode: 409, code, message });
      }
      expect(await instanceRowCount(stack, { tenantId: tenant.id })).toBe(0);
      expect(await tenantUse(owner, tenant)).toBe(0);
    });

    it('without a plan, creates a pending instance and calls no one', async () => {
      const owner = await newCustomer(stack);
      const tenant = await newTenant(stack, owner);
      const before = received.length;
      const res = await unreachable.request({
        method: 'POST',
        url: '/api/v1/instances/',
        headers: bearer(owner),
        payload: createBody(tenant.id),
      });
      expectStatus(res, 201);
      created.push(res.json<InstanceBody>().id);
      expect(res.json()).toMatchObject({ status: 'pending', desired_state: 'stopped', plan_name: null });
      expect(received.length).toBe(before);
    });
  });
});
