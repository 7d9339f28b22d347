import Docker from 'dockerode';
import { randomBytes } from 'node:crypto';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { InstanceStatus } from '@app/contracts';
import { serviceTestEnv, ServiceHarness, startService, TestCustomer } from '@app/testing';
import { AppModule as WorkerModule } from '../../instance-worker/src/app.module';
import { LifecycleWorker } from '../../instance-worker/src/lifecycle/lifecycle-worker';
import { AppModule as TenantModule } from '../../tenant-service/src/app.module';
import { AppModule as UserModule } from '../../user-service/src/app.module';
import {
  bearer,
  cleanupInstances,
  createBody,
  createInstance,
  expectStatus,
  InstanceBody,
  newCustomer,
  newTenant,
  Stack,
  startStack,
  TestTenant,
  uniqueQueuePrefix,
} from './support';

/*
 * The whole path once, against the real Docker engine: the API records and enqueues, the worker's real
 * AppModule (in this process, same queue prefix) provisions the stand-in image saasodoo/odoo-stub, and the
 * API reports what happened. The worker's own tests cover every Docker step and failure in depth.
 */
const docker = new Docker({ socketPath: '/var/run/docker.sock' });
const runId = randomBytes(4).toString('hex');

interface StatusBody {
  status: InstanceStatus;
  desired_state: string;
  pending_operation: unknown;
  last_error: string | null;
}

describe('instance-service with the instance worker: a real lifecycle', () => {
  let stack: Stack;
  let worker: ServiceHarness;
  let owner: TestCustomer;
  let tenant: TestTenant;
  const backupDir = join(tmpdir(), `saasodoo-api-e2e-${runId}`);
  const created: InstanceBody[] = [];

  beforeAll(async () => {
    const queuePrefix = uniqueQueuePrefix();
    stack = await startStack({ user: UserModule, tenant: TenantModule }, { queuePrefix });
    worker = await startService(
      WorkerModule,
      'instance-worker',
      serviceTestEnv('instance-worker', {
        QUEUE_PREFIX: queuePrefix,
        ODOO_IMAGE_TEMPLATE: 'saasodoo/odoo-stub:{version}',
        ODOO_NETWORK: `sotest-odoo-${runId}`,
        PUBLISH_INSTANCE_PORTS: 'true',
        // No periodic sweep during this short test: instance_test is shared, and the sweep would converge other
        // suites' rows too (the jobs this test enqueues through the API drive everything here).
        RECONCILE_INTERVAL_MS: '600000',
        PROVISION_HEALTH_TIMEOUT_MS: '20000',
        INSTANCE_PURGE_AFTER_SECONDS: '0',
        ODOO_STOP_TIMEOUT_SECONDS: '2',
        BACKUP_DIR: backupDir,
        BASE_DOMAIN: 'saasodoo.test',
        LOG_LEVEL: 'error',
      }),
    );
    await worker.app.get(LifecycleWorker).whenStarted();
    owner = await newCustomer(stack);
    tenant = await newTenant(stack, owner);
  }, 120_000);

  afterAll(async () => {
    await worker?.close();
    await rm(backupDir, { recursive: true, force: true });
    if (stack) {
      await cleanupInstances(
        stack,
        created.map((i) => i.id),
      );
      await stack.close();
    }
  }, 120_000);

  async function statusOf(id: string): Promise<StatusBody> {
    const res = await stack.instances.request({
      method: 'GET',
      url: `/api/v1/instances/${id}/status`,
      headers: bearer(owner),
    });
    expectStatus(res, 200);
    return res.json<StatusBody>();
  }

  async function waitUntil(id: string, status: InstanceStatus, timeoutMs = 60_000): Promise<StatusBody> {
    const deadline = Date.now() + timeoutMs;
    let last = await statusOf(id);
    while (!(last.status === status && last.pending_operation === null)) {
      if (last.status === 'error' && status !== 'error')
        throw new Error(`instance went to error: ${last.last_error}`);
      if (Date.now() > deadline)
        throw new Error(`timed out waiting for ${status}; last ${JSON.stringify(last)}`);
      await sleep(200);
      last = await statusOf(id);
    }
    return last;
  }

  function act(id: string, action: string, parameters: Record<string, unknown> = {}) {
    return stack.instances.request({
      method: 'POST',
      url: `/api/v1/instances/${id}/actions`,
      headers: bearer(owner),
      payload: { action, parameters },
    });
  }

  it('provisions, serves logs, stops, starts, backs up and terminates through the API', async () => {
    const instance = await createInstance(
      stack,
      owner,
      createBody(tenant.id, { cpu_limit: 0.5, memory_limit: '256M', storage_limit: '1G' }),
    );
    created.push(instance);
    await waitUntil(instance.id, 'running');

    const details = await stack.instances.request({
      method: 'GET',
      url: `/api/v1/instances/${instance.id}`,
      headers: bearer(owner),
    });
    expect(details.json()).toMatchObject({
      status: 'running',
      external_url: `http://${instance.subdomain}.saasodoo.test`,
      started_at: expect.any(String),
    });
    const containers = await docker.listContainers({
      filters: { label: [`saasodoo.instance.id=${instance.id}`] },
    });
    expect(containers).toHaveLength(1);
    expect(containers[0]!.Labels).toMatchObject({
      'saasodoo.tenant.id': tenant.id,
      'saasodoo.customer.id': owner.id,
    });

    const logs = await stack.instances.request({
      method: 'GET',
      url: `/api/v1/instances/${instance.id}/logs?lines=200`,
      headers: bearer(owner),
    });
    expectStatus(logs, 200);
    const lines = logs.json<{ logs: string[]; lines: number }>();
    expect(lines.lines).toBeGreaterThan(0);
    expect(lines.logs.join('\n')).toContain('odoo-stub');

    expectStatus(await act(instance.id, 'stop'), 202);
    await waitUntil(instance.id, 'stopped');
    expect((await docker.getContainer(containers[0]!.Id).inspect()).State.Running).toBe(false);

    expectStatus(await act(instance.id, 'start'), 202);
    await waitUntil(instance.id, 'running');

    expectStatus(await act(instance.id, 'backup'), 202);
    await waitUntil(instance.id, 'running');
    const backups = await stack.instances.request({
      method: 'GET',
      url: `/api/v1/instances/${instance.id}/backups`,
      headers: bearer(owner),
    });
    expect(backups.json()).toMatchObject({
      total_backups: 1,
      backups: [{ status: 'completed', database_sha256: expect.stringMatching(/^[0-9a-f]{64}$/) }],
    });

    expectStatus(
      await stack.instances.request({
        method: 'DELETE',
        url: `/api/v1/instances/${instance.id}`,
        headers: bearer(owner),
      }),
      202,
    );
    await waitUntil(instance.id, 'terminated');
    const deadline = Date.now() + 30_000;
    while (
      (
        await docker.listContainers({
          all: true,
          filters: { label: [`saasodoo.instance.id=${instance.id}`] },
        })
      ).length
    ) {
      if (Date.now() > deadline) throw new Error('the container was not purged');
      await sleep(250);
    }

    const events = await stack.instances.request({
      method: 'GET',
      url: `/api/v1/instances/${instance.id}/events?limit=500`,
      headers: bearer(owner),
    });
    const history = events
      .json<{ events: { to_status: string; from_status: string | null; actor: string }[] }>()
      .events.reverse();
    const changes = history.filter((e) => e.from_status !== e.to_status).map((e) => e.to_status);
    expect(changes[0]).toBe('pending');
    expect(changes).toEqual(
      expect.arrayContaining(['provisioning', 'running', 'stopped', 'backing_up', 'terminated']),
    );
    expect(changes.at(-1)).toBe('terminated');
    expect(history.filter((e) => e.actor === owner.id).length).toBeGreaterThanOrEqual(4);
  }, 180_000);
});
