import { randomUUID } from 'node:crypto';
import { backupDownloadSecret, checkBackupDownload } from '@app/instance-data';
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

/*
 * The API side of issue #15's backups: the manual backup cap per day, the backup list's kinds and verification,
 * and reactivate (quota taken again, refused once purged). The worker side is apps/instance-worker/test/backups.
 */
describe('instance-service: backups API and reversible termination', () => {
  let stack: Stack;
  let owner: TestCustomer;
  let tenant: TestTenant;
  const created: string[] = [];

  beforeAll(async () => {
    stack = await startStack(
      { user: UserModule, tenant: TenantModule },
      {
        instanceEnv: {
          MANUAL_BACKUPS_PER_DAY: '5',
          BACKUP_DOWNLOAD_URL: 'http://127.0.0.1:18005',
          BACKUP_DOWNLOAD_TTL_SECONDS: '60',
        },
      },
    );
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

  async function fresh(status?: 'running' | 'stopped', tenantId = tenant.id): Promise<InstanceBody> {
    // Within every plan's ceiling (starter: 1 CPU).
    const instance = await createInstance(stack, owner, createBody(tenantId, { cpu_limit: 1 }));
    created.push(instance.id);
    if (status)
      await observe(stack, instance.id, status, { containerName: `odoo-${instance.id.slice(0, 8)}` });
    return instance;
  }

  function act(id: string, action: string) {
    return stack.instances.request({
      method: 'POST',
      url: `/api/v1/instances/${id}/actions`,
      headers: bearer(owner),
      payload: { action },
    });
  }

  async function insertBackup(
    instanceId: string,
    fields: { kind: string; status: string; createdAt: Date; verification?: string | null },
  ): Promise<string> {
    const id = randomUUID();
    const completed = fields.status === 'completed';
    await stack.db.query(
      `INSERT INTO instance_backups (id, instance_id, kind, status, database_name, odoo_version, requested_by,
                                     created_at, completed_at, db_dump_sha256, db_dump_size, filestore_sha256,
                                     filestore_size, verification, verified_at, manifest)
       VALUES ($1, $2, $3, $4, 'db', '17.0', 'test', $5, $6, $7, $8, $7, $8, $9, $11, $10)`,
      [
        id,
        instanceId,
        fields.kind,
        fields.status,
        fields.createdAt,
        completed ? fields.createdAt : null,
        completed ? 'a'.repeat(64) : null,
        completed ? 10 : null,
        fields.verification ?? null,
        completed ? { tables: 3, odoo_version: '17.0' } : null,
        fields.verification ? fields.createdAt : null,
      ],
    );
    return id;
  }

  async function pendingOperation(id: string): Promise<unknown> {
    const [row] = (await stack.db.query(`SELECT pending_operation FROM instances WHERE id = $1`, [id])) as {
      pending_operation: unknown;
    }[];
    return row?.pending_operation;
  }

  it('caps manual backups per UTC day (429 BACKUP_DAILY_LIMIT, nothing recorded); other days and kinds do not count', async () => {
    const instance = await fresh('running');
    const yesterday = new Date(Date.now() - 86_400_000 - 60_000);
    const today = new Date(
      Date.now() - 60_000 > new Date().setUTCHours(0, 0, 0, 0) ? Date.now() - 60_000 : Date.now(),
    );
    for (let i = 0; i < 3; i++)
      await insertBackup(instance.id, { kind: 'manual', status: 'completed', createdAt: yesterday });
    for (let i = 0; i < 3; i++)
      await insertBackup(instance.id, { kind: 'scheduled', status: 'completed', createdAt: today });
    for (let i = 0; i < 4; i++)
      await insertBackup(instance.id, {
        kind: 'manual',
        status: i === 0 ? 'failed' : 'completed',
        createdAt: today,
      });

    const fourth = await act(instance.id, 'backup');
    expectStatus(fourth, 202);
    await stack.db.query(`UPDATE instances SET pending_operation = NULL WHERE id = $1`, [instance.id]);

    await insertBackup(instance.id, { kind: 'manual', status: 'completed', createdAt: today });
    const refused = await act(instance.id, 'backup');
    expect(refused.statusCode).toBe(429);
    expect(refused.json()).toMatchObject({
      statusCode: 429,
      code: 'BACKUP_DAILY_LIMIT',
      details: [{ limit: 5 }],
    });
    expect(Number(refused.headers['retry-after'])).toBeGreaterThan(0);
    expect(Number(refused.headers['retry-after'])).toBeLessThanOrEqual(86_400);
    expect(await pendingOperation(instance.id)).toBeNull();
  });

  it('lists backups with their kind and verification result', async () => {
    const instance = await fresh('running');
    const passed = await insertBackup(instance.id, {
      kind: 'scheduled',
      status: 'completed',
      createdAt: new Date(Date.now() - 2000),
      verification: 'passed',
    });
    const failed = await insertBackup(instance.id, {
      kind: 'final',
      status: 'completed',
      createdAt: new Date(Date.now() - 1000),
      verification: 'failed',
    });
    const res = await stack.instances.request({
      method: 'GET',
      url: `/api/v1/instances/${instance.id}/backups`,
      headers: bearer(owner),
    });
    expectStatus(res, 200);
    const body = res.json<{ backups: Record<string, unknown>[] }>();
    expect(body.backups.map((b) => [b.backup_id, b.kind, b.status, b.verification])).toEqual([
      [failed, 'final', 'completed', 'failed'],
      [passed, 'scheduled', 'completed', 'passed'],
    ]);
    expect(body.backups[0]?.verified_at).toEqual(expect.any(String));
  });

  it('reactivates a terminated instance within the retention period, taking a quota slot again', async () => {
    const small = await newTenant(stack, owner, 'starter');
    const first = await fresh('running', small.id);
    const del = await stack.instances.request({
      method: 'DELETE',
      url: `/api/v1/instances/${first.id}`,
      headers: bearer(owner),
    });
    expectStatus(del, 202);
    await observe(stack, first.id, 'terminated', { purgeAfter: new Date(Date.now() + 3_600_000) });
    // The slot terminate gave back is taken by another instance: no room to reactivate.
    const second = await fresh('running', small.id);
    const full = await act(first.id, 'reactivate');
    expect(full.statusCode).toBe(409);
    expect(full.json()).toMatchObject({ code: 'QUOTA_EXCEEDED' });

    expectStatus(
      await stack.instances.request({
        method: 'DELETE',
        url: `/api/v1/instances/${second.id}`,
        headers: bearer(owner),
      }),
      202,
    );
    const back = await act(first.id, 'reactivate');
    expectStatus(back, 202);
    expect(back.json()).toMatchObject({
      action: 'reactivate',
      desired_state: 'running',
      instance_status: 'terminated',
    });
    const job = await stack.queue.getJob(back.json<{ job_id: string }>().job_id);
    expect(job?.name).toBe('start');
    // Now the slot is held again: the second one cannot come back.
    await observe(stack, second.id, 'terminated', { purgeAfter: new Date(Date.now() + 3_600_000) });
    const again = await act(second.id, 'reactivate');
    expect(again.json()).toMatchObject({ code: 'QUOTA_EXCEEDED' });
  });

  it('refuses to reactivate once the retention period is over (409 INSTANCE_PURGED), and gives the slot back', async () => {
    const small = await newTenant(stack, owner, 'starter');
    const instance = await fresh('stopped', small.id);
    expectStatus(await act(instance.id, 'terminate'), 202);
    await observe(stack, instance.id, 'terminated', { purgeAfter: new Date(Date.now() - 1000) });
    const refused = await act(instance.id, 'reactivate');
    expect(refused.statusCode).toBe(409);
    expect(refused.json()).toMatchObject({ code: 'INSTANCE_PURGED' });
    // The reservation made for the reactivation was released: a new instance fits the 1-slot plan.
    await fresh(undefined, small.id);
  });

  it('hands out a short-lived signed download link for a completed backup only', async () => {
    const instance = await fresh('running');
    const done = await insertBackup(instance.id, {
      kind: 'manual',
      status: 'completed',
      createdAt: new Date(Date.now() - 1000),
    });
    const running = await insertBackup(instance.id, {
      kind: 'manual',
      status: 'running',
      createdAt: new Date(),
    });
    const get = (backupId: string) =>
      stack.instances.request({
        method: 'GET',
        url: `/api/v1/instances/${instance.id}/backups/${backupId}/download`,
        headers: bearer(owner),
      });

    const res = await get(done);
    expectStatus(res, 200);
    const body = res.json<{ backup_id: string; url: string; expires_at: string }>();
    expect(body.backup_id).toBe(done);
    const url = new URL(body.url);
    expect(`${url.origin}${url.pathname}`).toBe(`http://127.0.0.1:18005/backups/${done}/download`);
    const expires = Number(url.searchParams.get('expires'));
    expect(new Date(expires * 1000).toISOString()).toBe(body.expires_at);
    expect(expires * 1000 - Date.now()).toBeGreaterThan(50_000);
    expect(expires * 1000 - Date.now()).toBeLessThanOrEqual(60_000);
    const secret = backupDownloadSecret({ NODE_ENV: 'test' }) ?? '';
    expect(checkBackupDownload(secret, done, expires, url.searchParams.get('signature') ?? '')).toBe('valid');
    // Bound to this backup: the same signature does not open another one.
    expect(checkBackupDownload(secret, running, expires, url.searchParams.get('signature') ?? '')).toBe(
      'invalid',
    );

    expect((await get(running)).json()).toMatchObject({ statusCode: 409, code: 'BACKUP_NOT_COMPLETED' });
    expect((await get(randomUUID())).json()).toMatchObject({ statusCode: 404, code: 'BACKUP_NOT_FOUND' });
    expect((await get('not-a-uuid')).json()).toMatchObject({ statusCode: 404, code: 'BACKUP_NOT_FOUND' });
    const stranger = await newCustomer(stack);
    const foreign = await stack.instances.request({
      method: 'GET',
      url: `/api/v1/instances/${instance.id}/backups/${done}/download`,
      headers: bearer(stranger),
    });
    expect(foreign.statusCode).toBe(404);
  });
});
