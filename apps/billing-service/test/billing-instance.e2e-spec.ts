/**
 * The billing e2e of issue #6 with the real services: user-service (tokens, contact cards), tenant-service
 * (tenants, membership), instance-service (instances created with a plan call billing; billing sets their
 * desired state), the instance worker (real Docker, the saasodoo/odoo-stub image) and billing-service. Kill
 * Bill is the emulator (test double), here delivering every notification twice, shuffled, four at a time.
 *
 * trial → running; trial ends unpaid → invoice → payment failed → overdue blocks → suspended; external
 * payment → running; cancel → EFFECTIVE at the end of the term → terminated; uncancel keeps it running;
 * exactly one provisioning throughout.
 */
import Docker from 'dockerode';
import { randomBytes } from 'node:crypto';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { InjectOptions } from 'fastify';
import { DataSource } from 'typeorm';
import type { InstanceStatus } from '@app/contracts';
import { LifecycleQueue } from '@app/queue';
import {
  adminSql,
  createAdmin,
  createVerifiedCustomer,
  requireEnv,
  serviceTestEnv,
  ServiceHarness,
  SmtpSink,
  startService,
  TestCustomer,
  userServiceTestEnv,
} from '@app/testing';
import { KillBillEmulator } from '../../../libs/testing/src/killbill-emulator';
import { AppModule as InstanceModule } from '../../instance-service/src/app.module';
import { AppModule as WorkerModule } from '../../instance-worker/src/app.module';
import { tenantNetworkName } from '../../instance-worker/src/lifecycle/instance-naming';
import { LifecycleWorker } from '../../instance-worker/src/lifecycle/lifecycle-worker';
import { AppModule as TenantModule } from '../../tenant-service/src/app.module';
import { AdminAccountsService } from '../../user-service/src/admin/admin-accounts.service';
import { AppModule as UserModule } from '../../user-service/src/app.module';
import {
  billingEnv,
  BillingUnderTest,
  freePort,
  internalHeaders,
  resetBillingDatabase,
  startBilling,
  waitFor,
} from './support/billing-harness';
import { settle } from './support/flow-helpers';

const docker = new Docker({ socketPath: '/var/run/docker.sock' });
const runId = randomBytes(4).toString('hex');

interface InstanceBody {
  id: string;
  status: InstanceStatus;
  desired_state: string;
  database_name: string;
}

describe('billing with the real instance-service and worker', () => {
  const smtp = new SmtpSink();
  const kb = new KillBillEmulator({
    clockMode: 'frozen',
    initialTime: '2025-03-01T10:00:00Z',
    retrySchedule: [20, 40, 80, 160, 320],
    shuffle: true,
    duplicate: true,
    pushConcurrency: 4,
    seed: 7,
  });
  const backupDir = join(tmpdir(), `saasodoo-billing-e2e-${runId}`);
  const harnesses: ServiceHarness[] = [];
  let billing: BillingUnderTest;
  let users: ServiceHarness;
  let tenants: ServiceHarness;
  let instances: ServiceHarness;
  let owner: TestCustomer;
  let admin: TestCustomer;
  let tenantId = '';
  const created: InstanceBody[] = [];

  const call = (harness: ServiceHarness, who: TestCustomer, options: InjectOptions) =>
    harness.request({
      ...options,
      headers: { ...(options.headers ?? {}), authorization: `Bearer ${who.access_token}` },
    });
  const statusOf = async (id: string) =>
    (
      await call(instances, owner, { method: 'GET', url: `/api/v1/instances/${id}/status` })
    ).json<InstanceBody>();
  const waitUntil = (id: string, status: InstanceStatus, desired?: string) =>
    waitFor(
      async () => {
        const current = await statusOf(id);
        return current.status === status && (!desired || current.desired_state === desired)
          ? current
          : undefined;
      },
      `instance ${id} ${status}`,
      60_000,
    );
  const provisionings = async (id: string) => {
    const res = await call(instances, owner, {
      method: 'GET',
      url: `/api/v1/instances/${id}/events?limit=500`,
    });
    const body = res.json<{ events?: { to_status: string | null }[] } | { to_status: string | null }[]>();
    const events = Array.isArray(body) ? body : (body.events ?? []);
    return events.filter((e) => e.to_status === 'provisioning').length;
  };
  const createInstance = async (planName: string): Promise<InstanceBody> => {
    const databaseName = `bill_${randomBytes(5).toString('hex')}`;
    const res = await call(instances, owner, {
      method: 'POST',
      url: '/api/v1/instances/',
      payload: {
        tenant_id: tenantId,
        name: 'Billing e2e',
        description: 'billing e2e',
        odoo_version: '17.0',
        instance_type: 'development',
        cpu_limit: 1,
        memory_limit: '2G',
        storage_limit: '10G',
        admin_email: 'admin@acme.example',
        demo_data: false,
        database_name: databaseName,
        subdomain: databaseName.replace(/_/g, '-'),
        custom_addons: [],
        plan_name: planName,
      },
    });
    if (res.statusCode !== 201) throw new Error(`instance not created: ${res.statusCode} ${res.body}`);
    const instance = res.json<InstanceBody>();
    created.push(instance);
    return instance;
  };
  const subscriptionOf = async (instanceId: string) => {
    const res = await call(billing.harness, owner, { method: 'GET', url: '/api/billing/subscriptions' });
    const found = res
      .json<{ subscriptions: { id: string; instance_id: string; cancel_requested: boolean }[] }>()
      .subscriptions.find((s) => s.instance_id === instanceId);
    if (!found) throw new Error(`no subscription for ${instanceId}: ${res.body}`);
    return found;
  };
  const payEverything = async () => {
    const invoices = (
      await call(billing.harness, owner, { method: 'GET', url: '/api/billing/invoices' })
    ).json<{
      invoices: { id: string; balance: number }[];
    }>().invoices;
    for (const invoice of invoices.filter((i) => i.balance > 0)) {
      const res = await call(billing.harness, admin, {
        method: 'POST',
        url: `/admin/billing/invoices/${invoice.id}/external-payments`,
        payload: { reference: `e2e-${invoice.id}` },
      });
      expect(res.statusCode).toBe(201);
    }
  };

  beforeAll(async () => {
    await resetBillingDatabase();
    await smtp.start();
    await kb.start();
    const [userPort, tenantPort, instancePort, callbackPort] = [
      await freePort(),
      await freePort(),
      await freePort(),
      await freePort(),
    ];
    const url = (port: number) => `http://127.0.0.1:${port}`;
    const queuePrefix = `test-bill-${runId}`;
    billing = await startBilling(
      billingEnv({
        killbillUrl: kb.url,
        instanceServiceUrl: url(instancePort),
        tenantServiceUrl: url(tenantPort),
        userServiceUrl: url(userPort),
        smtpPort: smtp.port,
        callbackPort,
      }),
      callbackPort,
    );
    users = await startService(
      UserModule,
      'user-service',
      userServiceTestEnv(smtp, {
        TENANT_SERVICE_URL: url(tenantPort),
        INSTANCE_SERVICE_URL: url(instancePort),
        BILLING_SERVICE_URL: url(callbackPort),
      }),
    );
    harnesses.push(users);
    await users.app.listen({ port: userPort, host: '127.0.0.1' });
    tenants = await startService(
      TenantModule,
      'tenant-service',
      serviceTestEnv('tenant-service', {
        INTERNAL_API_TOKEN: requireEnv('INTERNAL_API_TOKEN'),
        USER_SERVICE_URL: url(userPort),
        INSTANCE_SERVICE_URL: url(instancePort),
      }),
    );
    harnesses.push(tenants);
    await tenants.app.listen({ port: tenantPort, host: '127.0.0.1' });
    instances = await startService(
      InstanceModule,
      'instance-service',
      serviceTestEnv('instance-service', {
        INTERNAL_API_TOKEN: requireEnv('INTERNAL_API_TOKEN'),
        INSTANCE_SECRETS_KEY: requireEnv('INSTANCE_SECRETS_KEY'),
        TENANT_SERVICE_URL: url(tenantPort),
        BILLING_SERVICE_URL: url(callbackPort),
        BILLING_PROVIDER: 'killbill',
        BASE_DOMAIN: 'saasodoo.test',
        QUEUE_PREFIX: queuePrefix,
      }),
    );
    harnesses.push(instances);
    await instances.app.listen({ port: instancePort, host: '127.0.0.1' });
    const worker = await startService(
      WorkerModule,
      'instance-worker',
      serviceTestEnv('instance-worker', {
        QUEUE_PREFIX: queuePrefix,
        ODOO_IMAGE_TEMPLATE: 'saasodoo/odoo-stub:{version}',
        ODOO_NETWORK: `sotest-bill-${runId}`,
        PUBLISH_INSTANCE_PORTS: 'true',
        RECONCILE_INTERVAL_MS: '1000',
        PROVISION_HEALTH_TIMEOUT_MS: '20000',
        INSTANCE_PURGE_AFTER_SECONDS: '0',
        ODOO_STOP_TIMEOUT_SECONDS: '2',
        BACKUP_DIR: backupDir,
        BASE_DOMAIN: 'saasodoo.test',
        LOG_LEVEL: 'error',
      }),
    );
    harnesses.push(worker);
    await worker.app.get(LifecycleWorker).whenStarted();

    owner = await createVerifiedCustomer(users, smtp);
    admin = await createAdmin(users, (email, password) =>
      users.app.get(AdminAccountsService).createAdmin(email, { password }),
    );
    const subdomain = `b-${randomBytes(5).toString('hex')}`;
    const tenant = await call(tenants, owner, {
      method: 'POST',
      url: '/api/v1/tenants',
      payload: { name: `Billing ${subdomain}`, subdomain },
    });
    expect(tenant.statusCode).toBe(201);
    tenantId = tenant.json<{ id: string }>().id;
    // Plans are not self-service: billing (here the test, with the service credential) sets it.
    const plan = await tenants.request({
      method: 'PUT',
      url: `/internal/tenants/${tenantId}/plan`,
      headers: internalHeaders(),
      payload: { plan: 'basic', actor: 'test' },
    });
    expect(plan.statusCode).toBe(200);
    await waitFor(
      async () => (await billing.harness.request({ method: 'GET', url: '/health/ready' })).statusCode === 200,
      'billing ready',
    );
  }, 120_000);

  afterAll(async () => {
    const worker = harnesses[harnesses.length - 1];
    await worker?.close();
    for (const instance of created) {
      for (const label of [
        `saasodoo.instance.id=${instance.id}`,
        `saasodoo.oneshot.instance=${instance.id}`,
      ]) {
        for (const c of await docker.listContainers({ all: true, filters: { label: [label] } })) {
          await docker
            .getContainer(c.Id)
            .remove({ force: true, v: true })
            .catch(() => undefined);
        }
      }
      const { Volumes } = await docker.listVolumes({
        filters: { label: [`saasodoo.instance.id=${instance.id}`] },
      });
      for (const v of Volumes ?? []) {
        await docker
          .getVolume(v.Name)
          .remove()
          .catch(() => undefined);
      }
      await adminSql(`DROP DATABASE IF EXISTS "${instance.database_name}" WITH (FORCE)`);
      await adminSql(`DROP ROLE IF EXISTS "odoo_${instance.id.replace(/-/g, '')}"`);
    }
    if (tenantId) {
      await docker
        .getNetwork(tenantNetworkName(tenantId))
        .remove()
        .catch(() => undefined);
    }
    await rm(backupDir, { recursive: true, force: true });
    if (instances) {
      await instances.app
        .get(DataSource)
        .query(`DELETE FROM instances WHERE tenant_id = $1`, [tenantId])
        .catch(() => undefined);
      await instances.app
        .get(LifecycleQueue)
        .queue.obliterate({ force: true })
        .catch(() => undefined);
    }
    for (const harness of harnesses.slice(0, -1).reverse()) await harness.close();
    await billing?.close();
    await kb.stop();
    await smtp.stop();
  }, 120_000);

  it('trial → running; unpaid → suspended; paid → running; cancelled → terminated at the end of the term', async () => {
    const instance = await createInstance('basic-monthly');
    // Billing acts on its own write (it re-reads Kill Bill right after creating the subscription), so the
    // instance may already be on its way when instance-service answers.
    expect(['pending', 'provisioning']).toContain(instance.status);
    await settle(kb, billing);
    await waitUntil(instance.id, 'running', 'running');
    const subscription = await subscriptionOf(instance.id);

    kb.advance(14); // the trial ends unpaid: invoice, payment failed
    await settle(kb, billing);
    await smtp.waitFor({ to: owner.email, subject: /^Payment failed for invoice/ });
    expect((await statusOf(instance.id)).status).toBe('running');

    kb.advance(14); // 14 days unpaid: BLOCKED
    await settle(kb, billing);
    await waitUntil(instance.id, 'suspended', 'suspended');
    await smtp.waitFor({ to: owner.email, subject: /is suspended/ });

    await payEverything(); // external payment: the overdue state clears
    await settle(kb, billing);
    await waitUntil(instance.id, 'running', 'running');

    const cancel = await call(billing.harness, owner, {
      method: 'DELETE',
      url: `/api/billing/subscriptions/${subscription.id}`,
    });
    expect(cancel.json()).toMatchObject({ cancel_requested: true, entitlement: 'running' });
    await settle(kb, billing);
    expect((await statusOf(instance.id)).status).toBe('running');

    kb.advance(40); // past the charged-through date: the cancellation is EFFECTIVE
    await settle(kb, billing);
    await waitUntil(instance.id, 'terminated', 'terminated');
    await smtp.waitFor({ to: owner.email, subject: /has been terminated/ });
    expect(await provisionings(instance.id)).toBe(1);
  }, 120_000);

  it('uncancel before the end of the term keeps a paid instance running', async () => {
    const instance = await createInstance('basic-immediate');
    await settle(kb, billing);
    await payEverything(); // pay first: a plan without trial is provisioned once its first invoice is paid
    await settle(kb, billing);
    await waitUntil(instance.id, 'running', 'running');
    const subscription = await subscriptionOf(instance.id);
    await call(billing.harness, owner, {
      method: 'DELETE',
      url: `/api/billing/subscriptions/${subscription.id}`,
    });
    const withdrawn = await call(billing.harness, owner, {
      method: 'POST',
      url: `/api/billing/subscriptions/${subscription.id}/uncancel`,
    });
    expect(withdrawn.json()).toMatchObject({ cancel_requested: false });
    kb.advance(35);
    await settle(kb, billing);
    expect(await statusOf(instance.id)).toMatchObject({ status: 'running', desired_state: 'running' });
    expect(await provisionings(instance.id)).toBe(1);
    expect(kb.deliveries().filter((d) => d.duplicate).length).toBeGreaterThan(10);
  }, 120_000);
});
