import { InstanceBackupsRepository, type InstanceEntity } from '@app/instance-data';
import { adminSql } from '@app/testing';
import {
  assertWorkerBuilt,
  docker,
  killWorkerProcess as kill,
  LifecycleTestKit,
  startWorkerProcess,
  waitFor,
  type WorkerProcess,
} from './support/worker-harness';

/*
 * The worker as a real process (dist/apps/instance-worker/main.js: `npm run build` first, as CI does),
 * SIGKILLed at several points of a provisioning and restarted. Whatever the point, the instance must end
 * running with exactly one container, one volume, one database and one role, and no one-shot leftovers.
 */

/**
 * The last two stages of both scenarios: a worker killed while the instance's container boots, then a fresh
 * one that must finish with one container, one volume, one database and one role, healthy, and with the
 * database password it stored. Returns the running row and the worker left running.
 */
async function killWhileBootingThenFinish(
  kit: LifecycleTestKit,
  startProcess: () => Promise<WorkerProcess>,
  instanceId: string,
): Promise<{ row: InstanceEntity; worker: WorkerProcess }> {
  const booting = await startProcess();
  await kit.waitForContainerBooting(instanceId);
  await kill(booting);

  const worker = await startProcess();
  const row = await kit.waitForStatus(instanceId, 'running', 40_000).catch((error: unknown) => {
    throw new Error(`${String(error)}\n--- worker output ---\n${worker.output().slice(-3000)}`);
  });
  expect(await kit.containersOf(row.id)).toHaveLength(1);
  expect(await kit.volumesOf(row.id)).toEqual([kit.names(row).volume]);
  expect(await kit.pgObjects(row)).toEqual({ databases: 1, roles: 1 });
  expect(await kit.hostPortHealth(row)).toBe(200);
  // The database password stored before the kills is the one that works.
  const db = await kit.instanceDb(row);
  await db.end();
  return { row, worker };
}

describe('worker killed with SIGKILL during provisioning', () => {
  const kit = new LifecycleTestKit({ LOG_LEVEL: 'warn' });
  const processes: WorkerProcess[] = [];
  const startProcess = async (): Promise<WorkerProcess> => {
    const worker = await startWorkerProcess(kit.env);
    processes.push(worker);
    return worker;
  };

  beforeAll(async () => {
    assertWorkerBuilt();
    await kit.openData();
  });

  afterAll(async () => {
    for (const worker of processes) await kill(worker);
    await kit.cleanup();
  }, 60_000);

  it('converges to one running instance after kills after the database, after the container, and mid-health-wait', async () => {
    // The stand-in takes 3 s to answer: a window in which the container runs but provisioning is not done.
    const created = await kit.create({ environmentVars: { STUB_STARTUP_DELAY_SECONDS: '3' } });

    const first = await startProcess();
    await waitFor(
      'the database to exist',
      async () => (await kit.pgObjects(created)).databases === 1,
      20_000,
      20,
    );
    await kill(first);

    const second = await startProcess();
    await waitFor(
      'the container to exist',
      async () => (await kit.containersOf(created.id)).length > 0,
      30_000,
      20,
    );
    await kill(second);

    const { row, worker: fourth } = await killWhileBootingThenFinish(kit, startProcess, created.id);
    const oneShots = await docker.listContainers({
      all: true,
      filters: { label: [`saasodoo.oneshot.instance=${row.id}`] },
    });
    expect(oneShots).toHaveLength(0);
    const provisioning = (await kit.instances.listEvents(row.id)).filter(
      (e) => e.toStatus === 'provisioning',
    );
    expect(provisioning).toHaveLength(1);
    expect(row.adminPasswordEnc).toBeNull();
    await kill(fourth);
  }, 150_000);

  it('finishes a backup interrupted by a SIGKILL', async () => {
    const worker = await startProcess();
    const created = await kit.create();
    await kit.waitForStatus(created.id, 'running');
    await kit.act(created.id, 'backup');
    await kit.waitForStatus(created.id, 'backing_up', 20_000);
    await kill(worker);
    const next = await startProcess();
    const row = await kit.waitForOperation(created.id, 'running', 40_000);
    const rows = await new InstanceBackupsRepository(kit.dataSource).listForInstance(row.id);
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ status: 'completed' });
    await kill(next);
  }, 90_000);
});

describe('worker killed with SIGKILL while spare databases are made and adopted', () => {
  const kit = new LifecycleTestKit({
    LOG_LEVEL: 'warn',
    ODOO_SPARE_POOL: '17.0=1',
    ODOO_SPARE_POOL_INTERVAL_MS: '300',
  });
  const processes: WorkerProcess[] = [];
  const startProcess = async (): Promise<WorkerProcess> => {
    const worker = await startWorkerProcess(kit.env);
    processes.push(worker);
    return worker;
  };
  interface SpareRow {
    id: string;
    database_name: string;
    db_role: string;
    state: string;
    instance_id: string | null;
  }
  const spares = async (): Promise<SpareRow[]> =>
    (await kit.dataSource.query(
      `SELECT id, database_name, db_role, state, instance_id FROM odoo_spares ORDER BY created_at, id`,
    )) as SpareRow[];
  const oneReady = () =>
    waitFor(
      'exactly one ready spare',
      async () => {
        const rows = await spares();
        return rows.length === 1 && rows[0]!.state === 'ready' ? rows[0] : null;
      },
      40_000,
    );
  const seen: SpareRow[] = [];

  beforeAll(async () => {
    assertWorkerBuilt();
    await kit.openData();
  });

  afterAll(async () => {
    for (const worker of processes) await kill(worker);
    seen.push(...(await spares().catch(() => [])));
    await kit.cleanup();
    for (const spare of seen) {
      await adminSql(`DROP DATABASE IF EXISTS "${spare.database_name}" WITH (FORCE)`).catch(() => undefined);
      await adminSql(`DROP ROLE IF EXISTS "${spare.db_role}"`).catch(() => undefined);
    }
  }, 60_000);

  it('undoes a spare whose making was killed, and finishes an adoption killed midway; nothing is left over', async () => {
    // Killed while the pool's first spare is being made (role, database, init run).
    const first = await startProcess();
    const abandoned = await waitFor(
      'a spare being made',
      async () => (await spares()).find((s) => s.state === 'creating'),
      20_000,
      10,
    );
    seen.push(abandoned);
    await kill(first);

    const second = await startProcess();
    const spare = await oneReady();
    seen.push(spare);
    expect(spare.id).not.toBe(abandoned.id);
    expect(await kit.pgCountsByName(abandoned.database_name, abandoned.db_role)).toEqual({
      databases: 0,
      roles: 0,
    });
    const inits = await docker.listContainers({
      all: true,
      filters: { label: [`saasodoo.spare.id=${abandoned.id}`] },
    });
    expect(inits).toEqual([]);

    // Killed right after the instance claimed the spare, then again while its container boots.
    const created = await kit.create({ environmentVars: { STUB_STARTUP_DELAY_SECONDS: '3' } });
    await waitFor(
      'the claim',
      async () => (await spares()).some((s) => s.instance_id === created.id),
      20_000,
      5,
    );
    await kill(second);
    const { row, worker: fourth } = await killWhileBootingThenFinish(kit, startProcess, created.id);
    expect(await kit.pgCountsByName(spare.database_name, spare.db_role)).toEqual({ databases: 0, roles: 0 });
    const events = await kit.instances.listEvents(row.id);
    expect(events.filter((e) => e.toStatus === 'provisioning')).toHaveLength(1);
    expect(events.map((e) => e.reason)).toContain('provisioned (from a spare 17.0 database)');

    // The pool is one ready spare again, and the only spare database in the cluster of this run is its.
    const refilled = await oneReady();
    seen.push(refilled);
    for (const old of [abandoned, spare]) {
      expect(await kit.pgCountsByName(old.database_name, old.db_role)).toEqual({ databases: 0, roles: 0 });
    }
    expect(await kit.pgCountsByName(refilled.database_name, refilled.db_role)).toEqual({
      databases: 1,
      roles: 1,
    });
    await kill(fourth);
  }, 180_000);
});
