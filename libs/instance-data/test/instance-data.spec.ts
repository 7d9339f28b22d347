import { randomUUID } from 'node:crypto';
import { DataSource } from 'typeorm';
import { buildDataSourceOptions, runMigrationsWithLock, type ServiceDataSourceSpec } from '@app/database';
import { serviceTestEnv } from '@app/testing';
import { lifecycleJobId } from '@app/queue';
import {
  ActionNotAllowedError,
  BackupNotFoundError,
  INSTANCE_DATA_ENTITIES,
  INSTANCE_DATA_MIGRATIONS,
  InstanceBackupsRepository,
  InstanceNameTakenError,
  InstanceSecrets,
  InstancesRepository,
  InstanceTerminatedError,
  InvalidActionParametersError,
  isReservedDatabaseName,
  OperationPendingError,
  type NewInstance,
} from '@app/instance-data';

const spec: ServiceDataSourceSpec = {
  service: 'instance-worker',
  entities: INSTANCE_DATA_ENTITIES,
  migrations: INSTANCE_DATA_MIGRATIONS,
};

function newInstance(overrides: Partial<NewInstance> = {}): NewInstance {
  const id = randomUUID();
  const suffix = id.slice(0, 8);
  return {
    id,
    tenantId: randomUUID(),
    customerId: randomUUID(),
    name: 'Test instance',
    description: null,
    odooVersion: '17.0',
    instanceType: 'development',
    cpuLimit: 1.5,
    memoryLimit: '2G',
    storageLimit: '10G',
    adminEmail: 'admin@example.com',
    adminPasswordHash: 'hash',
    adminPasswordEnc: 'enc',
    demoData: false,
    databaseName: `idt_${suffix}`,
    subdomain: `idt-${suffix}`,
    customAddons: ['sale', 'crm'],
    disabledModules: [],
    environmentVars: { ZED: '1', ALPHA: '2' },
    metadata: { z: 1, a: { nested: [1, 'two', null] }, b: true },
    planName: null,
    ...overrides,
  };
}

describe('instance data (real Postgres)', () => {
  let dataSource: DataSource;
  let instances: InstancesRepository;
  let backups: InstanceBackupsRepository;
  const created: string[] = [];

  beforeAll(async () => {
    const env = serviceTestEnv('instance-worker');
    dataSource = await new DataSource(
      buildDataSourceOptions(spec, {
        POSTGRES_HOST: env.POSTGRES_HOST ?? '127.0.0.1',
        POSTGRES_PORT: Number(env.POSTGRES_PORT ?? 5432),
        POSTGRES_DB: env.POSTGRES_DB ?? '',
        DB_SERVICE_USER: env.DB_SERVICE_USER,
        DB_SERVICE_PASSWORD: env.DB_SERVICE_PASSWORD,
        DB_POOL_SIZE: 4,
        DB_RUN_MIGRATIONS: true,
        DB_CONNECT_TIMEOUT_MS: 5000,
      }),
    ).initialize();
    await runMigrationsWithLock(dataSource, 'migrations:instance-worker');
    instances = new InstancesRepository(dataSource);
    backups = new InstanceBackupsRepository(dataSource);
  });

  afterAll(async () => {
    if (created.length) await dataSource.query(`DELETE FROM instances WHERE id = ANY($1)`, [created]);
    await dataSource.destroy();
  });

  async function create(overrides: Partial<NewInstance> = {}, entitled = true) {
    const input = newInstance(overrides);
    created.push(input.id);
    return instances.create(input, { entitled, actor: input.customerId });
  }

  it('creates an entitled instance pending with a provision job and a creation event', async () => {
    const { instance, job } = await create();
    expect(instance).toMatchObject({ status: 'pending', desiredState: 'running', generation: 1 });
    expect(job).toMatchObject({ name: 'provision', instanceId: instance.id, generation: 1 });
    expect(instance.desiredJobId).toBe(lifecycleJobId(instance.id, 'provision', 1));
    const events = await instances.listEvents(instance.id);
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({ fromStatus: null, toStatus: 'pending', action: 'create' });
  });

  it('round-trips the JSON fields exactly, key order included', async () => {
    const { instance } = await create();
    const read = await instances.getById(instance.id);
    expect(JSON.stringify(read.environmentVars)).toBe('{"ZED":"1","ALPHA":"2"}');
    expect(JSON.stringify(read.metadata)).toBe('{"z":1,"a":{"nested":[1,"two",null]},"b":true}');
    expect(read.customAddons).toEqual(['sale', 'crm']);
    expect(read.cpuLimit).toBe(1.5);
  });

  it('waits for entitlement without a job when not entitled, then provisions on desired running', async () => {
    const { instance, job } = await create({}, false);
    expect(job).toBeNull();
    expect(instance).toMatchObject({ status: 'pending', desiredState: 'stopped', generation: 0 });
    const again = await instances.requestDesiredState(instance.id, 'stopped', { actor: 'billing' });
    expect(again.job).toBeNull();
    const entitled = await instances.requestDesiredState(instance.id, 'running', { actor: 'billing' });
    expect(entitled.job).toMatchObject({ name: 'provision', generation: 1 });
    expect(
      (await instances.requestDesiredState(instance.id, 'running', { actor: 'billing' })).job,
    ).toBeNull();
  });

  it('keeps subdomains unique among live instances and database names until purged', async () => {
    const { instance } = await create();
    await expect(create({ subdomain: instance.subdomain })).rejects.toBeInstanceOf(InstanceNameTakenError);
    await expect(create({ databaseName: instance.databaseName })).rejects.toMatchObject({
      field: 'database_name',
    });
    expect(await instances.isSubdomainAvailable(instance.subdomain ?? '')).toBe(false);
    await instances.transition(instance.id, { to: 'terminated', actor: 'worker' });
    expect(await instances.isSubdomainAvailable(instance.subdomain ?? '')).toBe(true);
    expect(await instances.isDatabaseNameAvailable(instance.databaseName)).toBe(false);
    await create({ subdomain: instance.subdomain });
    await expect(create({ databaseName: instance.databaseName })).rejects.toBeInstanceOf(
      InstanceNameTakenError,
    );
    await instances.transition(instance.id, {
      from: ['terminated'],
      to: 'terminated',
      actor: 'worker',
      patch: { purgedAt: new Date() },
    });
    expect(await instances.isDatabaseNameAvailable(instance.databaseName)).toBe(true);
  });

  it('records actions per the ALLOWED_ACTIONS table and refuses the others with the allowed list', async () => {
    const { instance } = await create();
    await expect(instances.requestAction(instance.id, 'stop', {}, { actor: 'u' })).rejects.toMatchObject({
      code: 'ACTION_NOT_ALLOWED',
      details: [{ status: 'pending', allowed_actions: ['terminate'] }],
    });
    await instances.transition(instance.id, { to: 'running', actor: 'worker' });
    const stop = await instances.requestAction(instance.id, 'stop', {}, { actor: 'u', reason: 'night' });
    expect(stop.job).toMatchObject({ name: 'stop', generation: 2 });
    expect(stop.instance).toMatchObject({ desiredState: 'stopped', status: 'running' });
    expect(stop.instance.desiredJobId).toBe(lifecycleJobId(instance.id, 'stop', 2));
    const events = await instances.listEvents(instance.id, { order: 'desc', limit: 1 });
    expect(events[0]).toMatchObject({
      action: 'stop',
      actor: 'u',
      reason: 'night',
      jobId: stop.instance.desiredJobId,
    });
    await expect(
      instances.requestAction(instance.id, 'unsuspend', {}, { actor: 'u' }),
    ).rejects.toBeInstanceOf(ActionNotAllowedError);
  });

  it('suspends and unsuspends back to the state before', async () => {
    const { instance } = await create();
    await instances.transition(instance.id, { to: 'running', actor: 'worker' });
    await instances.requestAction(instance.id, 'stop', {}, { actor: 'u' });
    await instances.transition(instance.id, { to: 'stopped', actor: 'worker' });
    const suspended = await instances.requestAction(instance.id, 'suspend', {}, { actor: 'billing' });
    expect(suspended.instance).toMatchObject({ desiredState: 'suspended', previousStatus: 'stopped' });
    await instances.transition(instance.id, { to: 'suspended', actor: 'worker' });
    const back = await instances.requestAction(instance.id, 'unsuspend', {}, { actor: 'billing' });
    expect(back.instance.desiredState).toBe('stopped');
    expect(back.job.name).toBe('unsuspend');
  });

  it('keeps one pending operation at a time and validates operation parameters', async () => {
    const { instance } = await create();
    await instances.transition(instance.id, { to: 'running', actor: 'worker' });
    await expect(
      instances.requestAction(instance.id, 'upgrade', { version: '16.0' }, { actor: 'u' }),
    ).rejects.toBeInstanceOf(InvalidActionParametersError);
    const backup = await instances.requestAction(instance.id, 'backup', {}, { actor: 'u' });
    expect(backup.instance.pendingOperation).toMatchObject({
      action: 'backup',
      generation: 2,
      job_id: backup.instance.pendingOperation?.job_id,
    });
    expect(backup.instance.desiredJobId).toBe(lifecycleJobId(instance.id, 'provision', 1));
    await expect(instances.requestAction(instance.id, 'restart', {}, { actor: 'u' })).rejects.toBeInstanceOf(
      OperationPendingError,
    );
    // A desired-state change is still possible; terminate abandons the pending operation.
    const terminate = await instances.requestAction(instance.id, 'terminate', {}, { actor: 'u' });
    expect(terminate.instance.pendingOperation).toBeNull();
    expect(terminate.instance.desiredState).toBe('terminated');
  });

  it('accepts restore only with a completed backup of the same instance', async () => {
    const { instance } = await create();
    await instances.transition(instance.id, { to: 'stopped', actor: 'worker' });
    await expect(
      instances.requestAction(instance.id, 'restore', { backup_id: randomUUID() }, { actor: 'u' }),
    ).rejects.toBeInstanceOf(BackupNotFoundError);
    const row = await backups.startForJob({
      id: randomUUID(),
      instanceId: instance.id,
      kind: 'manual',
      jobId: `${instance.id}:backup:99`,
      databaseName: instance.databaseName,
      odooVersion: '17.0',
      image: null,
      requestedBy: 'u',
    });
    await expect(
      instances.requestAction(instance.id, 'restore', { backup_id: row.id }, { actor: 'u' }),
    ).rejects.toBeInstanceOf(InvalidActionParametersError);
    const file = { path: '/x', sha256: 'a'.repeat(64), size: 1 };
    await backups.markCompleted(row.id, { dbDump: file, filestore: file });
    const restore = await instances.requestAction(
      instance.id,
      'restore',
      { backup_id: row.id },
      { actor: 'u' },
    );
    expect(restore.job).toMatchObject({ name: 'restore', params: { backup_id: row.id } });
  });

  it('never changes a terminated status and honours the optimistic checks of transition', async () => {
    const { instance } = await create();
    expect(
      await instances.transition(instance.id, { from: ['running'], to: 'stopped', actor: 'docker' }),
    ).toBeNull();
    expect(
      await instances.transition(instance.id, { to: 'provisioning', expectedGeneration: 7, actor: 'worker' }),
    ).toBeNull();
    const provisioning = await instances.transition(instance.id, {
      from: ['pending'],
      to: 'provisioning',
      actor: 'worker',
      jobId: 'j1',
      reason: 'go',
    });
    expect(provisioning?.status).toBe('provisioning');
    await instances.transition(instance.id, { to: 'terminated', actor: 'worker' });
    expect(await instances.transition(instance.id, { to: 'running', actor: 'docker' })).toBeNull();
    await expect(
      instances.requestDesiredState(instance.id, 'running', { actor: 'billing' }),
    ).rejects.toBeInstanceOf(InstanceTerminatedError);
    expect(
      (await instances.requestDesiredState(instance.id, 'terminated', { actor: 'billing' })).job,
    ).toBeNull();
    const statuses = (await instances.listEvents(instance.id)).map((e) => e.toStatus);
    expect(statuses).toEqual(['pending', 'provisioning', 'terminated']);
  });

  it('encrypts secrets bound to the instance and the kind', () => {
    const secrets = new InstanceSecrets(Buffer.alloc(32, 7).toString('base64'));
    const sealed = secrets.encrypt('i1', 'db_password', 's3cret');
    expect(sealed).not.toContain('s3cret');
    expect(secrets.decrypt('i1', 'db_password', sealed)).toBe('s3cret');
    expect(() => secrets.decrypt('i2', 'db_password', sealed)).toThrow(/cannot decrypt/);
    expect(() => secrets.decrypt('i1', 'admin_password', sealed)).toThrow(/cannot decrypt/);
    expect(() => new InstanceSecrets(Buffer.alloc(16).toString('base64'))).toThrow();
  });

  it('reserves platform and Postgres database names', () => {
    for (const name of ['postgres', 'template1', 'auth', 'instance_test', 'billing', 'pg_x']) {
      expect(isReservedDatabaseName(name)).toBe(true);
    }
    for (const name of ['acme', 'instance_shop', 'auth_company'])
      expect(isReservedDatabaseName(name)).toBe(false);
  });
});
