import { randomUUID } from 'node:crypto';
import { Client } from 'pg';
import type { InstanceEntity } from '@app/instance-data';
import { adminQuery, adminSql } from '@app/testing';
import { DockerRuntime } from '../src/placement/docker/docker-runtime';
import { tarFiles, type TarFile } from '../src/placement/tar-entries';
import { moveAttachmentsIntoDatabase } from '../src/lifecycle/odoo-admin-credentials';
import { OdooDatabaseProvisioner } from '../src/lifecycle/odoo-database.provisioner';
import { SparePool } from '../src/lifecycle/spare-pool';
import { docker, execIn as exec, LifecycleTestKit, waitFor } from './support/worker-harness';

/*
 * Spare databases (ODOO_SPARE_POOL) against the real Docker engine, Postgres and Redis with the stand-in
 * image: the pool is made and kept full, a new instance adopts a spare (renamed, its own secrets, no init run
 * of its own), instances a spare does not fit are made from scratch, the attachments of a spare's init run
 * move into its database, and nothing is left behind by an abandoned spare, an interrupted claim or a purge.
 */

interface SpareRow {
  id: string;
  odoo_version: string;
  database_name: string;
  db_role: string;
  odoo_schema: boolean;
  state: string;
  instance_id: string | null;
}

describe('spare databases (ODOO_SPARE_POOL, real Docker, Postgres, Redis)', () => {
  const kit = new LifecycleTestKit({ ODOO_SPARE_POOL: '17.0=2', ODOO_SPARE_POOL_INTERVAL_MS: '300' });
  const spares = () =>
    adminQuery<SpareRow>(
      `SELECT id, odoo_version, database_name, db_role, odoo_schema, state, instance_id
       FROM odoo_spares ORDER BY created_at, id`,
      kit.database,
    );
  const ready = async (count: number) =>
    waitFor(
      `${count} ready spares`,
      async () => {
        const rows = await spares();
        const readyRows = rows.filter((s) => s.state === 'ready');
        return readyRows.length === count && rows.every((s) => s.state !== 'creating') ? readyRows : null;
      },
      60_000,
    );
  const madeSpares: SpareRow[] = [];
  /** Spare ids whose leftovers a test made by hand. */
  const laidOut: string[] = [];
  const spareInits = async () =>
    docker.listContainers({ all: true, filters: { label: ['saasodoo.spare.id'] } });

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
    }
    for (const name of laidOut.map((id) => `odoo_spare_${id.replace(/-/g, '')}`)) {
      await adminSql(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`).catch(() => undefined);
      await adminSql(`DROP ROLE IF EXISTS "${name}"`).catch(() => undefined);
    }
    // Init runs of those spares, and those a failing test laid out itself.
    const ids = new Set([...madeSpares, ...listed].map((spare) => spare.id).concat(laidOut));
    for (const container of await spareInits()) {
      if (!ids.has(container.Labels['saasodoo.spare.id'] ?? '')) continue;
      await docker
        .getContainer(container.Id)
        .remove({ force: true, v: true })
        .catch(() => undefined);
    }
  }, 60_000);

  it('fills the pool: a role and a database initialised by an init run; the gauge reports them', async () => {
    const pool = await ready(2);
    madeSpares.push(...pool);
    for (const spare of pool) {
      // The stand-in does not use its database: no Odoo schema, so an adopter has nothing to set in it.
      expect(spare).toMatchObject({
        odoo_version: '17.0',
        state: 'ready',
        instance_id: null,
        odoo_schema: false,
      });
      const [db] = await adminQuery<{ owner: string }>(
        `SELECT pg_get_userbyid(datdba) AS owner FROM pg_database WHERE datname = '${spare.database_name}'`,
      );
      expect(db?.owner).toBe(spare.db_role);
    }
    // The init one-shots (and their anonymous volumes) are gone once the spares are ready.
    expect(
      (await spareInits()).filter((c) => pool.some((s) => c.Labels['saasodoo.spare.id'] === s.id)),
    ).toEqual([]);
    // The gauge is set at the end of the top-up cycle that made them.
    await waitFor('the gauge to report 2 ready spares', async () => {
      const metrics = await kit.app.request({ method: 'GET', url: '/metrics' });
      return /^odoo_spares_ready\{[^}]*odoo_version="17\.0"[^}]*\} 2$/m.test(metrics.body) || null;
    });
  });

  let adopted: InstanceEntity;

  it('a new instance adopts a spare: renamed database and role, its own names and secrets, no init run', async () => {
    const before = await ready(2);
    const created = await kit.create({ odooVersion: '17.0' });
    adopted = await kit.waitForStatus(created.id, 'running');
    const names = kit.names(adopted);

    // The oldest ready spare was taken: its names are gone, the instance's exist.
    const taken = before[0]!;
    expect(await kit.pgCountsByName(taken.database_name, taken.db_role)).toEqual({ databases: 0, roles: 0 });
    expect(await kit.pgCountsByName(names.database, names.dbRole)).toEqual({ databases: 1, roles: 1 });
    expect((await spares()).some((s) => s.id === taken.id)).toBe(false);
    expect(adopted).toMatchObject({ volumeName: names.volume, dbRole: names.dbRole });
    const [db] = await adminQuery<{ owner: string; acl: string }>(
      `SELECT pg_get_userbyid(datdba) AS owner, datacl::text AS acl FROM pg_database
       WHERE datname = '${names.database}'`,
    );
    expect(db?.owner).toBe(names.dbRole);
    // Only the instance's role may connect (PUBLIC has no CONNECT): the grants came along with the rename.
    expect(db?.acl).toContain(`${names.dbRole}=`);
    expect(db?.acl).not.toMatch(/[{,]=/);
    // The password recorded for the instance (re-sealed for it) opens its database.
    const client = await kit.instanceDb(adopted);
    await client.query('SELECT 1');
    await client.end();

    // Its own volume, and no `odoo --init` ran for it (the stand-in leaves a marker per init/update run).
    expect(await kit.volumesOf(adopted.id)).toEqual([names.volume]);
    const [container] = await kit.containersOf(adopted.id);
    const markers = await exec(container!.Id, ['ls', '/var/lib/odoo/stub-markers']);
    expect(markers.exitCode).not.toBe(0);
    expect(await kit.hostPortHealth(adopted)).toBe(200);

    const events = await kit.instances.listEvents(adopted.id, { limit: 50 });
    expect(events.map((e) => e.reason)).toContain('provisioned (from a spare 17.0 database)');
    // The pool is topped up again with new spares; no claim is left.
    const after = await ready(2);
    expect(after.some((s) => s.id === taken.id)).toBe(false);
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
      const [container] = await kit.containersOf(row.id);
      const markers = await exec(container!.Id, ['ls', '/var/lib/odoo/stub-markers']);
      expect(markers.output.trim()).toBe(`update-${row.databaseName}`);
      const events = await kit.instances.listEvents(row.id, { limit: 50 });
      expect(events.map((e) => e.reason)).toContain('provisioned');
    }
    // The pool was not touched.
    expect((await spares()).map((s) => s.id)).toEqual(pool.map((s) => s.id));
  });

  it('purging an instance made from a spare removes its database, role, volume and container', async () => {
    await kit.act(adopted.id, 'terminate');
    await waitFor('purge', async () => (await kit.get(adopted.id)).purgedAt, 30_000);
    const names = kit.names(adopted);
    expect(await kit.pgCountsByName(names.database, names.dbRole)).toEqual({ databases: 0, roles: 0 });
    expect(await kit.volumesOf(adopted.id)).toEqual([]);
    expect(await kit.containersOf(adopted.id)).toEqual([]);
  });

  /** A pending (not entitled) instance, and the spare claimed for it as a provisioning run would. */
  async function claimForNewInstance() {
    const pending = await kit.instances.create(kit.newInstance({ odooVersion: '17.0' }), {
      entitled: false,
      actor: 'test',
    });
    const spare = await kit.app.app.get(SparePool).claim(pending.instance, 'saasodoo/odoo-stub:17.0');
    expect(spare).not.toBeNull();
    return { pending, spare };
  }

  it('a claim interrupted before the renames is finished by the next provisioning run', async () => {
    await ready(2);
    // As if a worker claimed a spare and died at once: the claim is recorded, nothing renamed yet.
    const { pending, spare } = await claimForNewInstance();
    expect((await kit.get(pending.instance.id)).dbPasswordEnc).toMatch(/^v1\./);
    expect(await kit.pgCountsByName(spare!.database, spare!.role)).toEqual({ databases: 1, roles: 1 });

    await kit.enqueue(
      await kit.instances.requestDesiredState(pending.instance.id, 'running', { actor: 'test' }),
    );
    const row = await kit.waitForStatus(pending.instance.id, 'running');
    const names = kit.names(row);
    expect(await kit.pgCountsByName(names.database, names.dbRole)).toEqual({ databases: 1, roles: 1 });
    expect(await kit.pgCountsByName(spare!.database, spare!.role)).toEqual({ databases: 0, roles: 0 });
    expect((await spares()).some((s) => s.id === spare!.id)).toBe(false);
    const events = await kit.instances.listEvents(row.id, { limit: 50 });
    expect(events.map((e) => e.reason)).toContain('provisioned (from a spare 17.0 database)');
  });

  it('an instance terminated right after its claim leaves nothing: the spare database and role go', async () => {
    await ready(2);
    const { pending, spare } = await claimForNewInstance();
    await kit.enqueue(
      await kit.instances.requestDesiredState(pending.instance.id, 'terminated', { actor: 'test' }),
    );
    await waitFor('purge', async () => (await kit.get(pending.instance.id)).purgedAt, 30_000);
    expect(await kit.pgCountsByName(spare!.database, spare!.role)).toEqual({ databases: 0, roles: 0 });
    expect((await spares()).some((s) => s.id === spare!.id)).toBe(false);
  });

  it('a spare abandoned while being made (its worker died) is removed by the next top-up', async () => {
    await ready(2);
    const id = randomUUID();
    laidOut.push(id);
    const hex = id.replace(/-/g, '');
    const abandoned = {
      database: `odoo_spare_${hex}`,
      role: `odoo_spare_${hex}`,
      init: `odoo_init_spare_${hex}`,
    };
    // What a dying worker leaves: the role and database it made as the provisioner, its init run, and the
    // row it wrote first. The row comes last here: a top-up seeing it earlier would find less to remove
    // than the test is about to add.
    await docker.createContainer({
      name: abandoned.init,
      Image: 'saasodoo/odoo-stub:17.0',
      Cmd: ['odoo', '--stop-after-init', `--database=${abandoned.database}`],
      Labels: { 'saasodoo.spare.id': id },
    });
    const provisioner = new Client({
      host: process.env.POSTGRES_HOST ?? '127.0.0.1',
      port: Number(process.env.POSTGRES_PORT ?? 5432),
      user: 'odoo_provisioner',
      password: process.env.ODOO_PROVISIONER_PASSWORD,
      database: 'postgres',
    });
    await provisioner.connect();
    try {
      await provisioner.query(`CREATE ROLE "${abandoned.role}" LOGIN PASSWORD 'x'`);
      await provisioner.query(`GRANT "${abandoned.role}" TO CURRENT_USER`);
      await provisioner.query(`CREATE DATABASE "${abandoned.database}" OWNER "${abandoned.role}"`);
    } finally {
      await provisioner.end();
    }
    await kit.dataSource.query(
      `INSERT INTO odoo_spares (id, odoo_version, image, database_name, db_role, db_password_enc, state)
       VALUES ($1, '17.0', 'saasodoo/odoo-stub:17.0', $2, $3, $4, 'creating')`,
      [id, abandoned.database, abandoned.role, kit.secrets.encrypt(id, 'db_password', 'x')],
    );

    await waitFor(
      'the abandoned spare to be removed',
      async () => !(await spares()).some((s) => s.id === id),
      30_000,
    );
    expect(await kit.pgCountsByName(abandoned.database, abandoned.role)).toEqual({ databases: 0, roles: 0 });
    expect((await spareInits()).filter((c) => c.Labels['saasodoo.spare.id'] === id)).toEqual([]);
    madeSpares.push(...(await ready(2)));
  });

  it("the attachments a spare's init run wrote move into its database (ir_attachment.db_datas)", async () => {
    const runtime = kit.app.app.get(DockerRuntime);
    const provisioner = kit.app.app.get(OdooDatabaseProvisioner);
    const database = `sotest_${kit.runId}_attach`;
    const role = `sotest_${kit.runId}_attach`;
    const longName = `${'c'.repeat(40)}${'d'.repeat(90)}`;
    // A real container writes a filestore (one file with a name long enough for a pax/GNU header) …
    let files: TarFile[] = [];
    const result = await runtime.runOneShot({
      image: 'saasodoo/odoo-stub:17.0',
      cmd: [
        'sh',
        '-c',
        `mkdir -p /var/lib/odoo/filestore/${database}/ab /var/lib/odoo/filestore/${database}/cd && ` +
          `printf 'hello' > /var/lib/odoo/filestore/${database}/ab/abcdef && ` +
          `printf '\\001\\002\\377' > /var/lib/odoo/filestore/${database}/cd/${longName}`,
      ],
      labels: { 'saasodoo.test.run': kit.runId },
      onSuccess: async (id) => {
        files = tarFiles(await runtime.copyFromContainerToBuffer(id, `/var/lib/odoo/filestore/${database}`));
      },
    });
    expect(result.exitCode).toBe(0);
    expect(files.map((f) => f.path).sort()).toEqual([`${database}/ab/abcdef`, `${database}/cd/${longName}`]);

    // … and an Odoo-shaped ir_attachment table points at it.
    await provisioner.ensure(database, role, 'Attach-Passw0rd');
    try {
      const moved = await provisioner.withInstanceConnection(database, role, 'Attach-Passw0rd', async (c) => {
        await c.query(
          `CREATE TABLE ir_attachment (id serial PRIMARY KEY, store_fname varchar, db_datas bytea)`,
        );
        await c.query(
          `INSERT INTO ir_attachment (store_fname) VALUES ('ab/abcdef'), ('cd/${longName}'), ('ef/elsewhere')`,
        );
        const count = await moveAttachmentsIntoDatabase(
          c,
          files.map((f) => ({ storeFname: f.path.split('/').slice(1).join('/'), content: f.content })),
        );
        const { rows } = await c.query<{ store_fname: string | null; db_datas: Buffer | null }>(
          `SELECT store_fname, db_datas FROM ir_attachment ORDER BY id`,
        );
        return { count, rows };
      });
      expect(moved.count).toBe(2);
      expect(moved.rows).toEqual([
        { store_fname: null, db_datas: Buffer.from('hello') },
        { store_fname: null, db_datas: Buffer.from([1, 2, 255]) },
        { store_fname: 'ef/elsewhere', db_datas: null },
      ]);
    } finally {
      await provisioner.drop(database, role);
    }
  });

  it('a smaller pool gives back the surplus spares, with everything they held; none configured, none kept', async () => {
    const pool = await ready(2);
    await kit.stopWorker(kit.app);
    await kit.startWorker({ ODOO_SPARE_POOL: '17.0=1' });
    const kept = await ready(1);
    const removed = pool.filter((s) => !kept.some((k) => k.id === s.id));
    expect(removed).toHaveLength(1);
    expect(await kit.pgCountsByName(removed[0]!.database_name, removed[0]!.db_role)).toEqual({
      databases: 0,
      roles: 0,
    });
    await kit.stopWorker(kit.app);
    await kit.startWorker({ ODOO_SPARE_POOL: '' });
    await waitFor('the pool to be emptied', async () => (await spares()).length === 0, 30_000);
    for (const spare of pool) {
      expect(await kit.pgCountsByName(spare.database_name, spare.db_role)).toEqual({
        databases: 0,
        roles: 0,
      });
    }
  });
});
