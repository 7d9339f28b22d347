import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { Client } from 'pg';
import type { InstanceEntity } from '@app/instance-data';
import { adminQuery, adminSql } from '@app/testing';
import { SparePool } from '../src/lifecycle/spare-pool';
import { docker, LifecycleTestKit, waitFor } from './support/worker-harness';

/*
 * Spare databases (ODOO_SPARE_POOL) against the real Docker engine, Postgres and Redis with the stand-in
 * image: the pool is made and kept full, a new instance adopts a spare (renamed, its own secrets, the spare's
 * volume and attachments), instances a spare does not fit are made from scratch, and nothing is left behind
 * by an abandoned spare, an interrupted claim or a purge.
 */

interface SpareRow {
  id: string;
  odoo_version: string;
  database_name: string;
  db_role: string;
  volume_name: string;
  state: string;
  instance_id: string | null;
}

async function exec(containerId: string, cmd: string[]): Promise<{ exitCode: number; output: string }> {
  const execution = await docker
    .getContainer(containerId)
    .exec({ Cmd: cmd, AttachStdout: true, AttachStderr: true });
  const stream = await execution.start({ hijack: true, stdin: false });
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  let inspect = await execution.inspect();
  while (inspect.Running) {
    await sleep(50);
    inspect = await execution.inspect();
  }
  // Strip the 8-byte frame headers of the multiplexed stream.
  const raw = Buffer.concat(chunks);
  const parts: Buffer[] = [];
  for (let offset = 0; offset + 8 <= raw.length;) {
    const size = raw.readUInt32BE(offset + 4);
    parts.push(raw.subarray(offset + 8, offset + 8 + size));
    offset += 8 + size;
  }
  return { exitCode: inspect.ExitCode ?? -1, output: Buffer.concat(parts).toString('utf8') };
}

async function volumeExists(name: string): Promise<boolean> {
  return docker
    .getVolume(name)
    .inspect()
    .then(
      () => true,
      () => false,
    );
}

async function pgCounts(database: string, role: string): Promise<{ databases: number; roles: number }> {
  const [row] = await adminQuery<{ databases: number; roles: number }>(
    `SELECT (SELECT count(*)::int FROM pg_database WHERE datname = '${database}') AS databases,
            (SELECT count(*)::int FROM pg_roles WHERE rolname = '${role}') AS roles`,
  );
  return row ?? { databases: -1, roles: -1 };
}

describe('spare databases (ODOO_SPARE_POOL, real Docker, Postgres, Redis)', () => {
  const kit = new LifecycleTestKit({ ODOO_SPARE_POOL: '17.0=2', ODOO_SPARE_POOL_INTERVAL_MS: '300' });
  const spares = () =>
    adminQuery<SpareRow>(
      `SELECT id, odoo_version, database_name, db_role, volume_name, state, instance_id
       FROM odoo_spares ORDER BY created_at, id`,
      kit.database,
    );
  const ready = async (count: number) =>
    waitFor(
      `${count} ready spares`,
      async () => {
        const rows = (await spares()).filter((s) => s.state === 'ready');
        return rows.length === count && (await spares()).every((s) => s.state !== 'creating') ? rows : null;
      },
      60_000,
    );
  const madeSpares: SpareRow[] = [];

  beforeAll(async () => {
    await kit.startWorker();
  });
  afterAll(async () => {
    const listed = await spares().catch(() => []);
    await kit.cleanup();
    // Spares the worker made and no test consumed (the worker is stopped by now).
    for (const spare of [...madeSpares, ...listed]) {
      await adminSql(`DROP DATABASE IF EXISTS "${spare.database_name}" WITH (FORCE)`).catch(() => undefined);
      await adminSql(`DROP ROLE IF EXISTS "${spare.db_role}"`).catch(() => undefined);
      await docker
        .getVolume(spare.volume_name)
        .remove()
        .catch(() => undefined);
    }
  }, 60_000);

  let firstSpares: SpareRow[] = [];

  it('fills the pool: role, database initialised by the init run, labelled volume; the gauge reports them', async () => {
    firstSpares = await ready(2);
    madeSpares.push(...firstSpares);
    for (const spare of firstSpares) {
      expect(spare).toMatchObject({ odoo_version: '17.0', state: 'ready', instance_id: null });
      const [db] = await adminQuery<{ owner: string }>(
        `SELECT pg_get_userbyid(datdba) AS owner FROM pg_database WHERE datname = '${spare.database_name}'`,
      );
      expect(db?.owner).toBe(spare.db_role);
      const volume = await docker.getVolume(spare.volume_name).inspect();
      expect(volume.Labels).toMatchObject({ 'saasodoo.spare.id': spare.id, 'saasodoo.managed': 'true' });
    }
    // The init one-shots are gone once the spares are ready.
    const oneShots = await docker.listContainers({ all: true, filters: { label: ['saasodoo.spare.id'] } });
    expect(oneShots.filter((c) => firstSpares.some((s) => c.Labels['saasodoo.spare.id'] === s.id))).toEqual(
      [],
    );
    const metrics = await kit.app.request({ method: 'GET', url: '/metrics' });
    expect(metrics.body).toMatch(/^odoo_spares_ready\{[^}]*odoo_version="17\.0"[^}]*\} 2$/m);
  });

  let adopted: InstanceEntity;
  let adoptedSpare: SpareRow;

  it('a new instance adopts a spare: renamed database and role, its own names and secrets, the attachments linked', async () => {
    await ready(2);
    const before = await spares();
    const created = await kit.create({ odooVersion: '17.0' });
    adopted = await kit.waitForStatus(created.id, 'running');
    const names = kit.names(adopted);

    // The oldest ready spare was taken: its volume is the instance's now, its names are gone.
    adoptedSpare = before.find((s) => s.volume_name === adopted.volumeName)!;
    expect(adoptedSpare).toBeDefined();
    expect(adopted.volumeName).toBe(adoptedSpare.volume_name);
    expect(adopted.dbRole).toBe(`odoo_${adopted.id.replace(/-/g, '')}`);
    expect(await pgCounts(adoptedSpare.database_name, adoptedSpare.db_role)).toEqual({
      databases: 0,
      roles: 0,
    });
    expect(await pgCounts(names.database, names.dbRole)).toEqual({ databases: 1, roles: 1 });
    const [owner] = await adminQuery<{ owner: string }>(
      `SELECT pg_get_userbyid(datdba) AS owner FROM pg_database WHERE datname = '${names.database}'`,
    );
    expect(owner?.owner).toBe(names.dbRole);
    // The password recorded for the instance (re-sealed for it) opens its database.
    const client = await kit.instanceDb(adopted);
    await client.query('SELECT 1');
    await client.end();
    // Only the instance's role may connect (PUBLIC has no CONNECT): grants came along with the rename.
    const [acl] = await adminQuery<{ acl: string }>(
      `SELECT datacl::text AS acl FROM pg_database WHERE datname = '${names.database}'`,
    );
    expect(acl?.acl).toContain(`${names.dbRole}=`);
    expect(acl?.acl).not.toMatch(/(^|[{,])=/);

    const [container] = await kit.containersOf(adopted.id);
    expect(container).toBeDefined();
    const link = await exec(container!.Id, ['readlink', `/var/lib/odoo/filestore/${names.database}`]);
    expect(link.output.trim()).toBe(adoptedSpare.database_name);
    // `odoo --init=base` ran once, when the spare was made; the instance had no init run of its own.
    const markers = await exec(container!.Id, ['ls', '/var/lib/odoo/stub-markers']);
    expect(markers.output.trim().split('\n')).toEqual([`update-${adoptedSpare.database_name}`]);
    const marker = await exec(container!.Id, [
      'cat',
      `/var/lib/odoo/stub-markers/update-${adoptedSpare.database_name}`,
    ]);
    expect(marker.output.trim().split('\n')).toHaveLength(1);
    expect(marker.output).toContain('init=base');
    expect(await kit.hostPortHealth(adopted)).toBe(200);

    const events = await kit.instances.listEvents(adopted.id, { limit: 50 });
    expect(JSON.stringify(events)).toContain('from a spare 17.0 database');
    // Adoption complete: no claim row is left, and the pool is topped up again with new spares.
    const after = await ready(2);
    expect(after.some((s) => s.id === adoptedSpare.id)).toBe(false);
    expect((await spares()).filter((s) => s.state === 'claimed')).toEqual([]);
    madeSpares.push(...after);
  });

  it('instances a spare does not fit (custom addons, demo data, a version without spares) are made from scratch', async () => {
    const pool = await ready(2);
    const cases = [
      await kit.create({ odooVersion: '17.0', customAddons: ['sale'] }),
      await kit.create({ odooVersion: '17.0', demoData: true }),
      await kit.create({ odooVersion: '16.0' }),
    ];
    for (const created of cases) {
      const row = await kit.waitForStatus(created.id, 'running');
      expect(row.volumeName).toBe(`odoo_data_${row.id}`);
      const [container] = await kit.containersOf(row.id);
      const markers = await exec(container!.Id, ['ls', '/var/lib/odoo/stub-markers']);
      expect(markers.output.trim()).toBe(`update-${row.databaseName}`);
    }
    // The pool was not touched.
    expect((await spares()).map((s) => s.id)).toEqual(pool.map((s) => s.id));
  });

  it('purging an instance made from a spare removes its database, role and the volume it took over', async () => {
    await kit.act(adopted.id, 'terminate');
    await waitFor('purge', async () => (await kit.get(adopted.id)).purgedAt, 30_000);
    const names = kit.names(adopted);
    expect(await pgCounts(names.database, names.dbRole)).toEqual({ databases: 0, roles: 0 });
    expect(await volumeExists(adoptedSpare.volume_name)).toBe(false);
    expect(await kit.containersOf(adopted.id)).toEqual([]);
  });

  it('a claim interrupted before the renames is finished by the next provisioning run', async () => {
    await ready(2);
    // As if a worker claimed a spare and died at once: the claim is recorded, nothing renamed yet.
    const pending = await kit.instances.create(kit.newInstance({ odooVersion: '17.0' }), {
      entitled: false,
      actor: 'test',
    });
    const pool = kit.app.app.get(SparePool);
    const spare = await pool.claim(pending.instance, 'saasodoo/odoo-stub:17.0');
    expect(spare).not.toBeNull();
    const claimedRow = await kit.get(pending.instance.id);
    expect(claimedRow.volumeName).toBe(spare!.volume);
    expect(await pgCounts(spare!.database, spare!.role)).toEqual({ databases: 1, roles: 1 });

    await kit.enqueue(
      await kit.instances.requestDesiredState(pending.instance.id, 'running', { actor: 'test' }),
    );
    const row = await kit.waitForStatus(pending.instance.id, 'running');
    const names = kit.names(row);
    expect(row.volumeName).toBe(spare!.volume);
    expect(await pgCounts(names.database, names.dbRole)).toEqual({ databases: 1, roles: 1 });
    expect(await pgCounts(spare!.database, spare!.role)).toEqual({ databases: 0, roles: 0 });
    expect((await spares()).some((s) => s.id === spare!.id)).toBe(false);
  });

  it('an instance terminated right after its claim leaves nothing: the spare database, role and volume go', async () => {
    await ready(2);
    const pending = await kit.instances.create(kit.newInstance({ odooVersion: '17.0' }), {
      entitled: false,
      actor: 'test',
    });
    const spare = await kit.app.app.get(SparePool).claim(pending.instance, 'saasodoo/odoo-stub:17.0');
    expect(spare).not.toBeNull();
    await kit.enqueue(
      await kit.instances.requestDesiredState(pending.instance.id, 'terminated', { actor: 'test' }),
    );
    await waitFor('purge', async () => (await kit.get(pending.instance.id)).purgedAt, 30_000);
    expect(await pgCounts(spare!.database, spare!.role)).toEqual({ databases: 0, roles: 0 });
    expect(await volumeExists(spare!.volume)).toBe(false);
    expect((await spares()).some((s) => s.id === spare!.id)).toBe(false);
  });

  it('a spare abandoned while being made (its worker died) is removed by the next top-up', async () => {
    await ready(2);
    const id = randomUUID();
    const hex = id.replace(/-/g, '');
    const abandoned = {
      database: `odoo_spare_${hex}`,
      role: `odoo_spare_${hex}`,
      volume: `odoo_spare_data_${hex}`,
    };
    // What a dying worker leaves: the row, the role and database it made as the provisioner, the volume.
    const provisioner = new Client({
      host: process.env.POSTGRES_HOST ?? '127.0.0.1',
      port: Number(process.env.POSTGRES_PORT ?? 5432),
      user: 'odoo_provisioner',
      password: process.env.ODOO_PROVISIONER_PASSWORD,
      database: 'postgres',
    });
    await provisioner.connect();
    try {
      await kit.dataSource.query(
        `INSERT INTO odoo_spares (id, odoo_version, image, database_name, db_role, volume_name, db_password_enc, state)
         VALUES ($1, '17.0', 'saasodoo/odoo-stub:17.0', $2, $3, $4, $5, 'creating')`,
        [
          id,
          abandoned.database,
          abandoned.role,
          abandoned.volume,
          kit.secrets.encrypt(id, 'db_password', 'x'),
        ],
      );
      await provisioner.query(`CREATE ROLE "${abandoned.role}" LOGIN PASSWORD 'x'`);
      await provisioner.query(`GRANT "${abandoned.role}" TO CURRENT_USER`);
      await provisioner.query(`CREATE DATABASE "${abandoned.database}" OWNER "${abandoned.role}"`);
    } finally {
      await provisioner.end();
    }
    await docker.createVolume({ Name: abandoned.volume, Labels: { 'saasodoo.spare.id': id } });

    await waitFor(
      'the abandoned spare to be removed',
      async () => !(await spares()).some((s) => s.id === id),
      30_000,
    );
    expect(await pgCounts(abandoned.database, abandoned.role)).toEqual({ databases: 0, roles: 0 });
    expect(await volumeExists(abandoned.volume)).toBe(false);
    madeSpares.push(...(await ready(2)));
  });

  it('a smaller pool gives back the surplus spares, with everything they held', async () => {
    const pool = await ready(2);
    await kit.stopWorker(kit.app);
    await kit.startWorker({ ODOO_SPARE_POOL: '17.0=1' });
    const kept = await ready(1);
    const removed = pool.filter((s) => !kept.some((k) => k.id === s.id));
    expect(removed).toHaveLength(1);
    expect(await pgCounts(removed[0]!.database_name, removed[0]!.db_role)).toEqual({
      databases: 0,
      roles: 0,
    });
    expect(await volumeExists(removed[0]!.volume_name)).toBe(false);
    await kit.stopWorker(kit.app);
    await kit.startWorker({ ODOO_SPARE_POOL: '' });
    // Pool switched off: nothing is made, what exists is given back.
    await waitFor('the pool to be emptied', async () => (await spares()).length === 0, 30_000);
    for (const spare of pool) {
      expect(await pgCounts(spare.database_name, spare.db_role)).toEqual({ databases: 0, roles: 0 });
      expect(await volumeExists(spare.volume_name)).toBe(false);
    }
  });
});
