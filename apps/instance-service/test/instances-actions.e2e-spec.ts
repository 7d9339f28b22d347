import { randomUUID } from 'node:crypto';
import { ALLOWED_ACTIONS, INSTANCE_ACTIONS, type InstanceAction, type InstanceStatus } from '@app/contracts';
import { BackupOffsiteCopiesRepository, InstanceBackupsRepository } from '@app/instance-data';
import { DataSource } from 'typeorm';
import { InstanceLogsResponder, lifecycleJobId } from '@app/queue';
import { TestCustomer } from '@app/testing';
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
  observe,
  Stack,
  startStack,
  TestTenant,
} from './support';

interface Accepted {
  job_id: string;
  instance_id: string;
  action: InstanceAction;
  status: string;
  instance_status: InstanceStatus;
  desired_state: string;
}

describe('instance-service: lifecycle actions, updates and read routes', () => {
  let stack: Stack;
  let owner: TestCustomer;
  let tenant: TestTenant;
  const created: string[] = [];

  beforeAll(async () => {
    stack = await startStack({ user: UserModule, tenant: TenantModule });
  });
  beforeEach(async () => {
    owner = await newCustomer(stack);
    tenant = await newTenant(stack, owner, 'professional');
  });
  afterAll(async () => {
    if (!stack) return;
    await cleanupInstances(stack, created);
    await stack.close();
  });

  async function fresh(
    status?: InstanceStatus,
    overrides: Record<string, unknown> = {},
  ): Promise<InstanceBody> {
    const instance = await createInstance(stack, owner, createBody(tenant.id, overrides));
    created.push(instance.id);
    if (status)
      await observe(stack, instance.id, status, { containerName: `odoo-${instance.id.slice(0, 8)}` });
    return instance;
  }

  function act(id: string, action: string, parameters?: Record<string, unknown>) {
    return stack.instances.request({
      method: 'POST',
      url: `/api/v1/instances/${id}/actions`,
      headers: bearer(owner),
      payload: parameters === undefined ? { action } : { action, parameters },
    });
  }

  async function row(id: string) {
    const [found] = (await stack.db.query(
      `SELECT status, desired_state, generation, pending_operation, previous_status, cpu_limit::float AS cpu_limit,
              memory_limit, storage_limit, name, description
         FROM instances WHERE id = $1`,
      [id],
    )) as Record<string, unknown>[];
    return found;
  }

  it('answers 409 with the allowed actions when the status forbids the action, and records nothing', async () => {
    const instance = await fresh();
    const before = await row(instance.id);
    for (const action of INSTANCE_ACTIONS.filter((a) => !ALLOWED_ACTIONS.pending.includes(a))) {
      const res = await act(
        instance.id,
        action,
        action === 'restore' ? { backup_id: randomUUID() } : undefined,
      );
      expect({ action, status: res.statusCode }).toEqual({
        action,
        status: action === 'upgrade' ? 400 : 409,
      });
      if (res.statusCode === 409) {
        expect(res.json()).toMatchObject({
          code: 'ACTION_NOT_ALLOWED',
          details: [{ status: 'pending', action, allowed_actions: ['terminate'] }],
        });
      }
    }
    expect(await row(instance.id)).toEqual(before);

    await observe(stack, instance.id, 'running');
    const start = await act(instance.id, 'start');
    expect(start.statusCode).toBe(409);
    expect(start.json()).toMatchObject({
      details: [{ status: 'running', allowed_actions: [...ALLOWED_ACTIONS.running] }],
    });
  });

  it('answers 202 with the deterministic job id, and the job is in the BullMQ queue', async () => {
    const instance = await fresh('running');
    const res = await act(instance.id, 'stop', {});
    expectStatus(res, 202);
    const accepted = res.json<Accepted>();
    const jobId = lifecycleJobId(instance.id, 'stop', 2);
    expect(accepted).toEqual({
      job_id: jobId,
      instance_id: instance.id,
      action: 'stop',
      status: 'queued',
      instance_status: 'running',
      desired_state: 'stopped',
    });
    const job = await stack.queue.getJob(jobId);
    expect(job).toMatchObject({
      id: jobId,
      name: 'stop',
      state: 'waiting',
      data: { instance_id: instance.id, generation: 2, params: {}, requested_by: owner.id },
    });
    expect(await row(instance.id)).toMatchObject({ desired_state: 'stopped', generation: 2 });

    // The worker stops it; start is then allowed and gets the next generation.
    await observe(stack, instance.id, 'stopped');
    const start = await act(instance.id, 'start');
    expectStatus(start, 202);
    expect(start.json<Accepted>().job_id).toBe(lifecycleJobId(instance.id, 'start', 3));
    expect(await stack.queue.getJob(lifecycleJobId(instance.id, 'start', 3))).toMatchObject({
      name: 'start',
    });
  });

  it('records operations as pending (one at a time), with their parameters in the job', async () => {
    const instance = await fresh('running');
    const restart = await act(instance.id, 'restart');
    expectStatus(restart, 202);
    const jobId = restart.json<Accepted>().job_id;
    expect(jobId).toBe(lifecycleJobId(instance.id, 'restart', 2));
    expect(await row(instance.id)).toMatchObject({
      desired_state: 'running',
      pending_operation: { action: 'restart', job_id: jobId, requested_by: owner.id, generation: 2 },
    });
    const again = await act(instance.id, 'backup');
    expect(again.statusCode).toBe(409);
    expect(again.json()).toMatchObject({
      code: 'OPERATION_PENDING',
      details: [{ pending_action: 'restart' }],
    });

    const upgradable = await fresh('running');
    for (const [parameters, field] of [
      [{}, 'parameters.version'],
      [{ version: '16.0' }, 'parameters.version'],
      [{ version: '17.0' }, 'parameters.version'],
      [{ version: 18 }, 'parameters.version'],
      [{ version: '18.0', force: true }, 'parameters.force'],
    ] as const) {
      const res = await act(upgradable.id, 'upgrade', parameters);
      expect(res.statusCode).toBe(400);
      expect(res.json()).toMatchObject({
        code: 'VALIDATION_FAILED',
        details: [expect.objectContaining({ field })],
      });
    }
    const upgrade = await act(upgradable.id, 'upgrade', { version: '18.0' });
    expectStatus(upgrade, 202);
    expect(await stack.queue.getJob(upgrade.json<Accepted>().job_id)).toMatchObject({
      name: 'upgrade',
      data: { params: { version: '18.0' } },
    });

    const backup = await fresh('stopped');
    const badBackup = await act(backup.id, 'backup', { name: 'nightly' });
    expect(badBackup.statusCode).toBe(400);
    expectStatus(await act(backup.id, 'backup'), 202);
  });

  it('restores only a completed backup of the same instance, and lists the backups', async () => {
    const instance = await fresh('stopped');
    const other = await fresh('stopped');
    const backups = stack.instances.app.get(InstanceBackupsRepository);
    const backupOf = async (instanceId: string, complete: boolean) => {
      const started = await backups.startForJob({
        id: randomUUID(),
        instanceId,
        kind: 'manual',
        jobId: `${instanceId}:backup:${randomUUID()}`,
        databaseName: 'x',
        odooVersion: '17.0',
        image: null,
        requestedBy: owner.id,
      });
      if (!complete) return started;
      return backups.markCompleted(started.id, {
        dbDump: { path: '/b/db.dump', sha256: 'a'.repeat(64), size: 100 },
        filestore: { path: '/b/fs.tar.gz', sha256: 'b'.repeat(64), size: 50 },
      });
    };
    const completed = await backupOf(instance.id, true);
    const running = await backupOf(instance.id, false);
    const foreign = await backupOf(other.id, true);

    const list = await stack.instances.request({
      method: 'GET',
      url: `/api/v1/instances/${instance.id}/backups`,
      headers: bearer(owner),
    });
    expectStatus(list, 200);
    expect(list.json()).toMatchObject({ instance_id: instance.id, total_backups: 2 });
    expect(list.json<{ backups: unknown[] }>().backups).toEqual(
      expect.arrayContaining([
        expect.objectContaining({
          backup_id: completed.id,
          status: 'completed',
          database_size: 100,
          data_size: 50,
          total_size: 150,
          database_sha256: 'a'.repeat(64),
        }),
        expect.objectContaining({ backup_id: running.id, status: 'running', total_size: null }),
      ]),
    );
    // Where each is kept: on the worker's host while completed; in the off-host store only once its copy was
    // uploaded and checked (a pending copy does not count).
    const byId = (
      body: { backups: { backup_id: string; offsite_copied_at?: string | null }[] },
      id: string,
    ) => body.backups.find((b) => b.backup_id === id);
    expect(byId(list.json(), completed.id)).toMatchObject({ locations: ['local'], offsite_copied_at: null });
    expect(byId(list.json(), running.id)).toMatchObject({ locations: [], offsite_copied_at: null });
    const copies = stack.instances.app.get(BackupOffsiteCopiesRepository);
    await copies.enqueue(instance.id, completed.id, `p/${instance.id}/${completed.id}/`);
    const pending = await stack.instances.request({
      method: 'GET',
      url: `/api/v1/instances/${instance.id}/backups`,
      headers: bearer(owner),
    });
    expect(byId(pending.json(), completed.id)).toMatchObject({
      locations: ['local'],
      offsite_copied_at: null,
    });
    await stack.instances.app
      .get(DataSource)
      .query(
        `UPDATE backup_offsite_copies SET state = 'uploaded', uploaded_at = now() WHERE backup_id = $1`,
        [completed.id],
      );
    const copied = await stack.instances.request({
      method: 'GET',
      url: `/api/v1/instances/${instance.id}/backups`,
      headers: bearer(owner),
    });
    expect(byId(copied.json(), completed.id)).toMatchObject({ locations: ['local', 's3'] });
    expect(byId(copied.json(), completed.id)?.offsite_copied_at).toEqual(expect.any(String));

    expect((await act(instance.id, 'restore', {})).statusCode).toBe(400);
    expect((await act(instance.id, 'restore', { backup_id: 'nope' })).statusCode).toBe(400);
    expect((await act(instance.id, 'restore', { backup_id: foreign.id })).json()).toMatchObject({
      statusCode: 404,
      code: 'BACKUP_NOT_FOUND',
    });
    expect((await act(instance.id, 'restore', { backup_id: running.id })).statusCode).toBe(400);
    const restore = await act(instance.id, 'restore', { backup_id: completed.id });
    expectStatus(restore, 202);
    expect(await stack.queue.getJob(restore.json<Accepted>().job_id)).toMatchObject({
      name: 'restore',
      data: { params: { backup_id: completed.id } },
    });
  });

  it('suspends and unsuspends back to the state before', async () => {
    const instance = await fresh('running');
    const suspend = await act(instance.id, 'suspend');
    expectStatus(suspend, 202);
    expect(suspend.json()).toMatchObject({ desired_state: 'suspended' });
    expect(await row(instance.id)).toMatchObject({ previous_status: 'running' });
    expect((await act(instance.id, 'unsuspend')).statusCode).toBe(409);
    await observe(stack, instance.id, 'suspended');
    const unsuspend = await act(instance.id, 'unsuspend');
    expectStatus(unsuspend, 202);
    expect(unsuspend.json()).toMatchObject({
      job_id: lifecycleJobId(instance.id, 'unsuspend', 3),
      desired_state: 'running',
    });
  });

  it('refuses unknown actions and fields (400)', async () => {
    const instance = await fresh('running');
    for (const payload of [
      { action: 'explode' },
      { action: 'stop', force: true },
      { action: 'stop', parameters: [] },
      {},
    ]) {
      const res = await stack.instances.request({
        method: 'POST',
        url: `/api/v1/instances/${instance.id}/actions`,
        headers: bearer(owner),
        payload,
      });
      expect(res.statusCode).toBe(400);
      expect(res.json()).toMatchObject({ code: 'VALIDATION_FAILED' });
    }
    expect(await row(instance.id)).toMatchObject({ generation: 1, desired_state: 'running' });
  });

  it('terminates with DELETE (202), and only reactivate is allowed once terminated', async () => {
    const instance = await fresh('running');
    const del = await stack.instances.request({
      method: 'DELETE',
      url: `/api/v1/instances/${instance.id}`,
      headers: bearer(owner),
    });
    expectStatus(del, 202);
    expect(del.json()).toMatchObject({
      job_id: lifecycleJobId(instance.id, 'terminate', 2),
      action: 'terminate',
      desired_state: 'terminated',
    });
    expect(await stack.queue.getJob(lifecycleJobId(instance.id, 'terminate', 2))).toMatchObject({
      name: 'terminate',
    });
    await observe(stack, instance.id, 'terminated');
    const again = await stack.instances.request({
      method: 'DELETE',
      url: `/api/v1/instances/${instance.id}`,
      headers: bearer(owner),
    });
    expect(again.statusCode).toBe(409);
    expect(again.json()).toMatchObject({
      details: [{ status: 'terminated', allowed_actions: ['reactivate'] }],
    });
    const rename = await stack.instances.request({
      method: 'PUT',
      url: `/api/v1/instances/${instance.id}`,
      headers: bearer(owner),
      payload: { name: 'x' },
    });
    expect(rename.statusCode).toBe(409);
    const status = await stack.instances.request({
      method: 'GET',
      url: `/api/v1/instances/${instance.id}/status`,
      headers: bearer(owner),
    });
    expect(status.json()).toMatchObject({
      status: 'terminated',
      desired_state: 'terminated',
      allowed_actions: ['reactivate'],
    });
  });

  it('updates name and description in place, and limits through an apply_limits job', async () => {
    const instance = await fresh('running');
    const put = (payload: Record<string, unknown>) =>
      stack.instances.request({
        method: 'PUT',
        url: `/api/v1/instances/${instance.id}`,
        headers: bearer(owner),
        payload,
      });
    const renamed = await put({ name: 'Renamed', description: 'New text' });
    expectStatus(renamed, 200);
    expect(renamed.json()).toMatchObject({ name: 'Renamed', description: 'New text', cpu_limit: 1.5 });
    expect(await row(instance.id)).toMatchObject({ generation: 1 });

    const before = await row(instance.id);
    for (const payload of [
      { memory_limit: '128M' },
      { storage_limit: '17G0' },
      { memory_limit: '1T' },
      { instance_type: 'production' },
      { odoo_version: '18.0' },
      { environment_vars: {} },
    ]) {
      const res = await put(payload);
      expect({ payload, status: res.statusCode }).toEqual({ payload, status: 400 });
    }
    expect(await row(instance.id)).toEqual(before);
    // Above the professional plan's ceilings (4 CPUs, 8G, 50G): 409 with the ceiling, nothing written.
    for (const payload of [{ cpu_limit: 4.5 }, { memory_limit: '9G' }, { storage_limit: '51G' }]) {
      const res = await put(payload);
      expect({ payload, status: res.statusCode }).toEqual({ payload, status: 409 });
      expect(res.json()).toMatchObject({
        code: 'PLAN_LIMIT_EXCEEDED',
        details: [
          {
            plan: 'professional',
            fields: Object.keys(payload),
            ceiling: { max_instances: 10, cpu_limit: 4, memory_limit: '8G', storage_limit: '50G' },
          },
        ],
      });
    }
    expect(await row(instance.id)).toEqual(before);

    const resized = await put({ cpu_limit: 2, memory_limit: '4g' });
    expectStatus(resized, 200);
    expect(resized.json()).toMatchObject({ cpu_limit: 2, memory_limit: '4G', storage_limit: '10G' });
    expect(await stack.queue.getJob(lifecycleJobId(instance.id, 'apply_limits', 2))).toMatchObject({
      name: 'apply_limits',
      data: { requested_by: owner.id },
    });

    const pending = await fresh();
    const pendingResize = await stack.instances.request({
      method: 'PUT',
      url: `/api/v1/instances/${pending.id}`,
      headers: bearer(owner),
      payload: { storage_limit: '20G' },
    });
    expectStatus(pendingResize, 200);
    expect(await stack.queue.getJob(lifecycleJobId(pending.id, 'apply_limits', 2))).toBeNull();
  });

  it('shows every status change and intent in /events with time, actor and reason (newest first)', async () => {
    const instance = await fresh();
    await observe(stack, instance.id, 'provisioning');
    await observe(stack, instance.id, 'running');
    expectStatus(await act(instance.id, 'stop'), 202);
    await observe(stack, instance.id, 'stopping');
    await observe(stack, instance.id, 'stopped');
    const res = await stack.instances.request({
      method: 'GET',
      url: `/api/v1/instances/${instance.id}/events`,
      headers: bearer(owner),
    });
    expectStatus(res, 200);
    const events = res.json<{ events: Record<string, unknown>[] }>().events;
    expect(events.map((e) => [e.action, e.from_status, e.to_status, e.actor])).toEqual([
      [null, 'stopping', 'stopped', 'test-worker'],
      [null, 'running', 'stopping', 'test-worker'],
      ['stop', 'running', 'running', owner.id],
      [null, 'provisioning', 'running', 'test-worker'],
      [null, 'pending', 'provisioning', 'test-worker'],
      ['create', null, 'pending', owner.id],
    ]);
    for (const event of events) {
      expect(event.created_at).toEqual(expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/));
      expect(event.reason).toEqual(expect.any(String));
    }
    const limited = await stack.instances.request({
      method: 'GET',
      url: `/api/v1/instances/${instance.id}/events?limit=2`,
      headers: bearer(owner),
    });
    expect(limited.json<{ events: unknown[] }>().events).toHaveLength(2);
  });

  it('reports status with the actions allowed now', async () => {
    const instance = await fresh('stopped');
    const res = await stack.instances.request({
      method: 'GET',
      url: `/api/v1/instances/${instance.id}/status`,
      headers: bearer(owner),
    });
    expectStatus(res, 200);
    expect(res.json()).toMatchObject({
      instance_id: instance.id,
      status: 'stopped',
      desired_state: 'running',
      allowed_actions: [...ALLOWED_ACTIONS.stopped],
      pending_operation: null,
    });
  });

  it('lists with filters and paging in SQL', async () => {
    const listTenant = await newTenant(stack, owner, 'professional');
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) {
      const instance = await createInstance(stack, owner, createBody(listTenant.id, { name: `List ${i}` }));
      created.push(instance.id);
      ids.push(instance.id);
    }
    await observe(stack, ids[0]!, 'running');
    await observe(stack, ids[1]!, 'running');
    const list = async (query: string) => {
      const res = await stack.instances.request({
        method: 'GET',
        url: `/api/v1/instances/?tenant_id=${listTenant.id}${query}`,
        headers: bearer(owner),
      });
      expectStatus(res, 200);
      return res.json<{ instances: InstanceBody[]; total: number; page: number; page_size: number }>();
    };
    const page1 = await list('&page=1&page_size=2');
    const page3 = await list('&page=3&page_size=2');
    expect(page1).toMatchObject({ total: 5, page: 1, page_size: 2 });
    expect(page1.instances.map((i) => i.id)).toEqual([ids[4], ids[3]]);
    expect(page3.instances.map((i) => i.id)).toEqual([ids[0]]);
    const running = await list('&status=running');
    expect(running.total).toBe(2);
    expect(running.instances.map((i) => i.id).sort()).toEqual([ids[0], ids[1]].sort());
    const pendingPage = await list('&status=pending&page=2&page_size=2');
    expect(pendingPage).toMatchObject({ total: 3 });
    expect(pendingPage.instances).toHaveLength(1);
    for (const bad of ['&status=nope', '&page=0', '&page_size=101', '&tenant_id=x', '&foo=1']) {
      const res = await stack.instances.request({
        method: 'GET',
        url: `/api/v1/instances/?${bad.slice(1)}`,
        headers: bearer(owner),
      });
      expect({ bad, status: res.statusCode }).toEqual({ bad, status: 400 });
    }
  });

  describe('logs', () => {
    let responder: InstanceLogsResponder | undefined;
    afterEach(async () => {
      await responder?.close();
      responder = undefined;
    });

    it('answers 409 before asking anyone when the instance has no container yet', async () => {
      const instance = await fresh();
      const res = await stack.instances.request({
        method: 'GET',
        url: `/api/v1/instances/${instance.id}/logs`,
        headers: bearer(owner),
      });
      expect(res.statusCode).toBe(409);
      expect(res.json()).toMatchObject({ code: 'NO_CONTAINER' });
    });

    it("returns the worker's answer as lines, and maps a missing container to 409", async () => {
      const instance = await fresh('running');
      const asked: [string, number][] = [];
      responder = new InstanceLogsResponder({
        redisUrl: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379',
        prefix: stack.queuePrefix,
        resolve: async (instanceId, lines) => {
          asked.push([instanceId, lines]);
          if (lines === 7) return { ok: false, code: 'CONTAINER_MISSING', message: 'gone' };
          return { ok: true, container_name: 'odoo-x', lines, logs: 'line one\nline two\n' };
        },
      });
      responder.start();
      const res = await stack.instances.request({
        method: 'GET',
        url: `/api/v1/instances/${instance.id}/logs?lines=50`,
        headers: bearer(owner),
      });
      expectStatus(res, 200);
      expect(res.json()).toEqual({
        instance_id: instance.id,
        container_name: 'odoo-x',
        lines: 2,
        logs: ['line one', 'line two'],
      });
      const missing = await stack.instances.request({
        method: 'GET',
        url: `/api/v1/instances/${instance.id}/logs?lines=7`,
        headers: bearer(owner),
      });
      expect(missing.statusCode).toBe(409);
      expect(missing.json()).toMatchObject({ code: 'CONTAINER_MISSING' });
      expect(asked).toEqual([
        [instance.id, 50],
        [instance.id, 7],
      ]);
      for (const lines of ['0', '1001', 'abc']) {
        const bad = await stack.instances.request({
          method: 'GET',
          url: `/api/v1/instances/${instance.id}/logs?lines=${lines}`,
          headers: bearer(owner),
        });
        expect(bad.statusCode).toBe(400);
      }
    });

    it('answers 503 when no worker answers in time', async () => {
      const instance = await fresh('running');
      const res = await stack.instances.request({
        method: 'GET',
        url: `/api/v1/instances/${instance.id}/logs?lines=5`,
        headers: bearer(owner),
      });
      expect(res.statusCode).toBe(503);
      expect(res.json()).toMatchObject({
        code: 'DEPENDENCY_UNAVAILABLE',
        details: [{ dependency: 'instance-worker' }],
      });
    }, 15_000);
  });
});
