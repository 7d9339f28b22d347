import { Type } from '@nestjs/common';
import type { LightMyRequestResponse } from 'fastify';
import { randomBytes } from 'node:crypto';
import { DataSource } from 'typeorm';
import type { InstanceStatus, TenantPlan } from '@app/contracts';
import { InstancesRepository, type InstancePatch } from '@app/instance-data';
import { LifecycleQueue } from '@app/queue';
import {
  createVerifiedCustomer,
  removeInstanceResources,
  requireEnv,
  serviceTestEnv,
  ServiceHarness,
  SmtpSink,
  startService,
  TestCustomer,
  UNREACHABLE_SERVICE_URL,
  userServiceTestEnv,
} from '@app/testing';
import { AppModule as InstanceModule } from '../src/app.module';
import { freePort } from '@app/testing';
export { removeInstanceResources };
export { freePort };

/*
 * The stack the instance API needs, booted in this process from the real AppModules and listening on real
 * ports (the services call each other over HTTP): user-service (real tokens), tenant-service (membership,
 * roles, quota) and instance-service. The other apps' modules are passed in by the spec files, so this
 * helper never imports another app.
 */

export interface StackModules {
  user: Type;
  tenant: Type;
}

export interface StackOptions {
  /** Extra env of instance-service (e.g. BILLING_PROVIDER, BILLING_SERVICE_URL). */
  instanceEnv?: Record<string, string>;
  /** Use this queue prefix instead of a fresh one (to share it with a worker). */
  queuePrefix?: string;
}

export interface Stack {
  smtp: SmtpSink;
  users: ServiceHarness;
  tenants: ServiceHarness;
  instances: ServiceHarness;
  urls: { user: string; tenant: string; instance: string };
  queuePrefix: string;
  /** instance-service's own data source (instance_test), to check what was (not) written. */
  db: DataSource;
  queue: LifecycleQueue;
  /** Every tenant made through newTenant, so cleanup also catches instances a failing test did not record. */
  tenantIds: string[];
  close(): Promise<void>;
}

export function uniqueQueuePrefix(): string {
  return `test-inst-${randomBytes(4).toString('hex')}`;
}

async function listen(harness: ServiceHarness, port: number): Promise<void> {
  await harness.app.listen({ port, host: '127.0.0.1' });
}

export async function startStack(modules: StackModules, options: StackOptions = {}): Promise<Stack> {
  const smtp = new SmtpSink();
  await smtp.start();
  const [userPort, tenantPort, instancePort] = [await freePort(), await freePort(), await freePort()];
  const urls = {
    user: `http://127.0.0.1:${userPort}`,
    tenant: `http://127.0.0.1:${tenantPort}`,
    instance: `http://127.0.0.1:${instancePort}`,
  };
  const queuePrefix = options.queuePrefix ?? uniqueQueuePrefix();
  const started: ServiceHarness[] = [];
  try {
    const users = await startService(
      modules.user,
      'user-service',
      userServiceTestEnv(smtp, { TENANT_SERVICE_URL: urls.tenant, INSTANCE_SERVICE_URL: urls.instance }),
    );
    started.push(users);
    await listen(users, userPort);
    const tenants = await startService(
      modules.tenant,
      'tenant-service',
      serviceTestEnv('tenant-service', {
        INTERNAL_API_TOKEN: requireEnv('INTERNAL_API_TOKEN'),
        USER_SERVICE_URL: urls.user,
        INSTANCE_SERVICE_URL: urls.instance,
      }),
    );
    started.push(tenants);
    await listen(tenants, tenantPort);
    const instances = await startService(
      InstanceModule,
      'instance-service',
      instanceServiceEnv({
        TENANT_SERVICE_URL: urls.tenant,
        QUEUE_PREFIX: queuePrefix,
        ...options.instanceEnv,
      }),
    );
    started.push(instances);
    await listen(instances, instancePort);
    return {
      smtp,
      users,
      tenants,
      instances,
      urls,
      queuePrefix,
      db: instances.app.get(DataSource),
      queue: instances.app.get(LifecycleQueue),
      tenantIds: [],
      close: async () => {
        await instances.app
          .get(LifecycleQueue)
          .queue.obliterate({ force: true })
          .catch(() => undefined);
        for (const harness of started.reverse()) await harness.close();
        await smtp.stop();
      },
    };
  } catch (error) {
    for (const harness of started.reverse()) await harness.close().catch(() => undefined);
    await smtp.stop();
    throw error;
  }
}

/** instance-service's test environment: its own role and instance_test, other services unreachable. */
export function instanceServiceEnv(overrides: Record<string, string> = {}): Record<string, string> {
  return serviceTestEnv('instance-service', {
    INTERNAL_API_TOKEN: requireEnv('INTERNAL_API_TOKEN'),
    INSTANCE_SECRETS_KEY: requireEnv('INSTANCE_SECRETS_KEY'),
    TENANT_SERVICE_URL: UNREACHABLE_SERVICE_URL,
    BILLING_SERVICE_URL: UNREACHABLE_SERVICE_URL,
    BILLING_PROVIDER: 'none',
    BASE_DOMAIN: 'saasodoo.test',
    ...overrides,
  });
}

export function bearer(customer: Pick<TestCustomer, 'access_token'>): Record<string, string> {
  return { authorization: `Bearer ${customer.access_token}` };
}

export function internalHeaders(): Record<string, string> {
  return { 'x-internal-token': requireEnv('INTERNAL_API_TOKEN') };
}

export function expectStatus(res: LightMyRequestResponse, status: number): void {
  if (res.statusCode !== status) {
    throw new Error(`expected HTTP ${status}, got ${res.statusCode}: ${res.body}`);
  }
}

export function newCustomer(stack: Stack): Promise<TestCustomer> {
  return createVerifiedCustomer(stack.users, stack.smtp);
}

export interface TestTenant {
  id: string;
  subdomain: string;
}

/**
 * A fresh tenant owned by `owner` (plan starter: 1 instance; basic: 3). Plans are not self-service: the
 * owner creates it on starter, and the plan is set through tenant-service's internal API as billing would.
 */
export async function newTenant(
  stack: Stack,
  owner: TestCustomer,
  plan: TenantPlan = 'basic',
): Promise<TestTenant> {
  const subdomain = `t-${randomBytes(5).toString('hex')}`;
  const res = await stack.tenants.request({
    method: 'POST',
    url: '/api/v1/tenants',
    headers: bearer(owner),
    payload: { name: `Tenant ${subdomain}`, subdomain },
  });
  expectStatus(res, 201);
  const id = res.json<{ id: string }>().id;
  stack.tenantIds.push(id);
  if (plan !== 'starter') await setTenantPlan(stack, id, plan);
  return { id, subdomain };
}

/** PUT /internal/tenants/{id}/plan on tenant-service (what billing or an admin does). */
export async function setTenantPlan(stack: Stack, tenantId: string, plan: TenantPlan): Promise<void> {
  const res = await stack.tenants.request({
    method: 'PUT',
    url: `/internal/tenants/${tenantId}/plan`,
    headers: internalHeaders(),
    payload: { plan, actor: 'test' },
  });
  expectStatus(res, 200);
}

export async function addMember(
  stack: Stack,
  owner: TestCustomer,
  tenant: TestTenant,
  member: TestCustomer,
  role: 'admin' | 'viewer',
): Promise<void> {
  const res = await stack.tenants.request({
    method: 'POST',
    url: `/api/v1/tenants/${tenant.id}/members`,
    headers: bearer(owner),
    payload: { email: member.email, role },
  });
  expectStatus(res, 201);
}

/** A unique, valid database name (Postgres names are cluster-wide: never reuse one across tests). */
export function uniqueDatabaseName(prefix = 'db'): string {
  return `${prefix}_${randomBytes(5).toString('hex')}`;
}

/** The seed's body with every field, as a customer would send it. */
export function createBody(
  tenantId: string,
  overrides: Record<string, unknown> = {},
): Record<string, unknown> {
  const databaseName = uniqueDatabaseName();
  return {
    tenant_id: tenantId,
    name: 'Acme ERP',
    description: 'Main company instance',
    odoo_version: '17.0',
    instance_type: 'development',
    cpu_limit: 1.5,
    memory_limit: '2G',
    storage_limit: '10G',
    admin_email: 'admin@acme.example',
    demo_data: false,
    database_name: databaseName,
    subdomain: databaseName.replace(/_/g, '-'),
    custom_addons: ['web_responsive', 'acme_custom'],
    disabled_modules: ['website_livechat'],
    environment_vars: { ODOO_WORKERS: '2', ODOO_LOG_LEVEL: 'info' },
    metadata: { source: 'e2e', nested: { list: [1, 'two', null, true], empty: {} } },
    ...overrides,
  };
}

export interface InstanceBody {
  id: string;
  tenant_id: string;
  status: InstanceStatus;
  desired_state: string;
  database_name: string;
  subdomain: string;
  admin_password?: string;
  [field: string]: unknown;
}

export async function createInstance(
  stack: Stack,
  customer: TestCustomer,
  body: Record<string, unknown>,
): Promise<InstanceBody> {
  const res = await stack.instances.request({
    method: 'POST',
    url: '/api/v1/instances/',
    headers: bearer(customer),
    payload: body,
  });
  expectStatus(res, 201);
  return res.json<InstanceBody>();
}

/**
 * Removes the instances a test created from instance_test (events and backups cascade), by id and by the
 * stack's tenants (so a failing test's unrecorded instance goes too), and whatever a worker may have built for
 * them: when tests of several suites share instance_test, another suite's worker reconciles these rows too.
 * Jobs go with the stack's own queue prefix when the stack closes; tenants and users stay (unique per test).
 */
export async function cleanupInstances(stack: Stack, ids: string[]): Promise<void> {
  const where = `id = ANY($1::uuid[]) OR tenant_id = ANY($2::uuid[])`;
  const rows = (await stack.db.query(`SELECT id, database_name FROM instances WHERE ${where}`, [
    ids,
    stack.tenantIds,
  ])) as { id: string; database_name: string }[];
  await stack.db.query(`DELETE FROM instances WHERE ${where}`, [ids, stack.tenantIds]);
  await removeInstanceResources(rows, stack.tenantIds);
}

export async function instanceRowCount(stack: Stack, where: { tenantId?: string; databaseName?: string }) {
  const rows = (await stack.db.query(
    `SELECT count(*)::int AS n FROM instances WHERE ($1::uuid IS NULL OR tenant_id = $1) AND ($2::text IS NULL OR database_name = $2)`,
    [where.tenantId ?? null, where.databaseName ?? null],
  )) as { n: number }[];
  return rows[0]?.n ?? 0;
}

/**
 * Stands in for the worker where a test needs an observed status the API cannot produce on its own (the
 * worker's own tests cover Docker): the same repository call the worker makes.
 */
export async function observe(
  stack: Stack,
  id: string,
  to: InstanceStatus,
  patch: InstancePatch = {},
): Promise<void> {
  const updated = await stack.instances.app
    .get(InstancesRepository)
    .transition(id, { to, actor: 'test-worker', reason: `test: ${to}`, patch });
  if (!updated) throw new Error(`could not move instance ${id} to ${to}`);
}
