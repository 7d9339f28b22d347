import { execFileSync } from 'node:child_process';
import { createHash, randomUUID } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { BackupKind, BackupStatus } from '@app/contracts';
import {
  backupDownloadSecret,
  InstanceBackupsRepository,
  signBackupDownload,
  type InstanceEntity,
} from '@app/instance-data';
import { MetricsRegistry } from '@app/metrics';
import { adminQuery, adminSql } from '@app/testing';
import { DEFAULT_BACKUP_RETENTION } from '@app/tenancy';
import { expiredBackups } from '../src/backups/backup-retention';
import { InstanceBackupsService } from '../src/lifecycle/instance-backups.service';
import { InstanceRuntime } from '../src/lifecycle/instance-runtime';
import { OdooDatabaseProvisioner } from '../src/lifecycle/odoo-database.provisioner';
import { execIn, LifecycleTestKit, waitFor } from './support/worker-harness';

/*
 * Backups of issue #15 against the real Docker engine, Postgres and Redis with the stand-in Odoo image: kinds,
 * retention applied by a real backup job, the test restore (verification) and scheduled backups.
 */

const DAY = 86_400_000;

/** What `odoo -i base` leaves that the sanity query looks for (the stand-in image creates no tables). */
async function seedOdooSchema(kit: LifecycleTestKit, row: InstanceEntity): Promise<void> {
  const db = await kit.instanceDb(row);
  try {
    await db.query(`CREATE TABLE res_users (id serial PRIMARY KEY, login varchar NOT NULL)`);
    await db.query(`INSERT INTO res_users (login) VALUES ('__system__'), ('admin')`);
    await db.query(`CREATE TABLE ir_module_module (id serial PRIMARY KEY, name varchar, state varchar)`);
    await db.query(`INSERT INTO ir_module_module (name, state) VALUES ('base', 'installed')`);
    await db.query(`CREATE TABLE res_partner (id serial PRIMARY KEY, name varchar)`);
  } finally {
    await db.end();
  }
}

/** Scratch databases of this backup's test restore still there (none once it is done). */
async function scratchDatabasesOf(backupId: string | undefined): Promise<string[]> {
  const rows = await adminQuery<{ datname: string }>(
    `SELECT datname FROM pg_database WHERE datname = 'bkverify_${(backupId ?? '').replace(/-/g, '')}'`,
  );
  return rows.map((r) => r.datname);
}

describe('backups: kinds, retention, verification, schedule (real Docker, Postgres, Redis)', () => {
  const kit = new LifecycleTestKit({
    // Scheduled backups on: a window that opened at midnight UTC, no spread. Only instances created before
    // today's midnight are due, which none is unless a test backdates it.
    BACKUP_SCHEDULE: '00:00',
    BACKUP_SCHEDULE_SPREAD_MINUTES: '0',
    // Terminated instances keep their data for an hour here (reactivation), not purged at once.
    INSTANCE_PURGE_AFTER_SECONDS: '3600',
  });

  beforeAll(async () => {
    await kit.startWorker();
  });
  afterAll(() => kit.cleanup(), 60_000);

  it('verifies a backup by restoring it into a scratch database: passed for an Odoo database', async () => {
    const backupRows = kit.app.app.get(InstanceBackupsRepository);
    const created = await kit.create();
    let row = await kit.waitForStatus(created.id, 'running');
    await seedOdooSchema(kit, row);

    await kit.act(row.id, 'backup');
    row = await kit.waitForOperation(row.id, 'running', 60_000);
    const [backup] = await backupRows.listForInstance(row.id);
    expect(backup).toMatchObject({
      kind: 'manual',
      status: 'completed',
      manifest: { tables: 3, odoo_version: '17.0' },
      verification: 'passed',
      verificationError: null,
    });
    expect(backup?.verifiedAt).toBeInstanceOf(Date);
    expect(await scratchDatabasesOf(backup?.id)).toEqual([]);
  }, 90_000);

  it('records a failed verification (backup stays completed) for a database without the Odoo schema, and counts it', async () => {
    const backupRows = kit.app.app.get(InstanceBackupsRepository);
    const created = await kit.create();
    let row = await kit.waitForStatus(created.id, 'running');
    const db = await kit.instanceDb(row);
    try {
      await db.query(`CREATE TABLE notes (id int)`);
    } finally {
      await db.end();
    }
    const metrics = kit.app.app.get(MetricsRegistry).registry;
    const failedBefore =
      (await metrics.getSingleMetric('backup_verifications_total')?.get())?.values.find(
        (v) => v.labels.result === 'failed',
      )?.value ?? 0;

    await kit.act(row.id, 'backup');
    row = await kit.waitForOperation(row.id, 'running', 60_000);
    expect(row.lastError).toBeNull();
    const [backup] = await backupRows.listForInstance(row.id);
    expect(backup).toMatchObject({ status: 'completed', verification: 'failed', manifest: { tables: 1 } });
    expect(backup?.verificationError).toMatch(/no Odoo schema/);
    const failedAfter = (await metrics.getSingleMetric('backup_verifications_total')?.get())?.values.find(
      (v) => v.labels.result === 'failed',
    )?.value;
    expect(failedAfter).toBe(failedBefore + 1);
    const gauge = await metrics.getSingleMetric('backup_verifications_failed_last_24h')?.get();
    expect(gauge?.values[0]?.value).toBeGreaterThanOrEqual(1);
    expect(await scratchDatabasesOf(backup?.id)).toEqual([]);
  }, 90_000);

  it('applies the retention rules after a backup: GFS for scheduled, newest N manual, safety copies 7 days', async () => {
    const backupRows = kit.app.app.get(InstanceBackupsRepository);
    const service = kit.app.app.get(InstanceBackupsService);
    const created = await kit.create();
    let row = await kit.waitForStatus(created.id, 'running');
    await seedOdooSchema(kit, row);

    const now = Date.now();
    const seeded: { id: string; kind: BackupKind; status: BackupStatus; age: number }[] = [
      ...Array.from({ length: 40 }, (_, i) => ({ kind: 'scheduled' as const, age: 1 + i * 3 })),
      { kind: 'manual' as const, age: 0.01 },
      { kind: 'manual' as const, age: 0.02 },
      { kind: 'manual' as const, age: 0.03 },
      { kind: 'pre_upgrade' as const, age: 8 },
      { kind: 'pre_restore' as const, age: 2 },
      { kind: 'final' as const, age: 300 },
      // Today's scheduled backup is done: without it the seeded history (newest scheduled one a day old) makes
      // the instance due for today's slot, and the scheduler sweep could take a backup in the middle of this test.
      { kind: 'scheduled' as const, age: 0 },
    ].map((b) => ({ ...b, id: randomUUID(), status: 'completed' as BackupStatus }));
    seeded.push({ id: randomUUID(), kind: 'manual', status: 'failed', age: 9 });
    for (const b of seeded) {
      const dir = resolve(service.instanceDir(row.id), b.id);
      mkdirSync(dir, { recursive: true });
      writeFileSync(resolve(dir, 'database.dump'), 'x');
      await kit.dataSource.query(
        `INSERT INTO instance_backups (id, instance_id, kind, status, database_name, odoo_version, requested_by,
                                       created_at, completed_at, db_dump_path, db_dump_sha256, db_dump_size,
                                       filestore_path, filestore_sha256, filestore_size, verification, verified_at)
         VALUES ($1, $2, $3, $4, $5, '17.0', 'test', $6, $6, $7, repeat('0', 64), 1, $7, repeat('0', 64), 1,
                 CASE WHEN $4::varchar = 'completed' THEN 'passed' END, CASE WHEN $4::varchar = 'completed' THEN $6::timestamptz END)`,
        [
          b.id,
          row.id,
          b.kind,
          b.status,
          row.databaseName,
          new Date(now - b.age * DAY),
          resolve(dir, 'database.dump'),
        ],
      );
    }

    await kit.act(row.id, 'backup');
    row = await kit.waitForOperation(row.id, 'running', 60_000);
    const after = await backupRows.listAllForInstance(row.id);
    const newest = after.find((b) => !seeded.some((s) => s.id === b.id));
    expect(newest).toMatchObject({ kind: 'manual', status: 'completed', verification: 'passed' });

    // The rules themselves are pinned by backup-retention.spec.ts; here: the job applied exactly them.
    const expected = expiredBackups(
      [...seeded.map((s) => ({ ...s, createdAt: new Date(now - s.age * DAY) })), ...(newest ? [newest] : [])],
      { ...DEFAULT_BACKUP_RETENTION, manualKeep: 2 },
      new Date(),
    ).map((b) => b.id);
    const keptIds = after.map((b) => b.id);
    for (const id of expected) {
      expect(keptIds).not.toContain(id);
      expect(existsSync(resolve(service.instanceDir(row.id), id))).toBe(false);
    }
    const kept = (kind: BackupKind) => after.filter((b) => b.kind === kind);
    // 7 daily + up to 4 weekly + up to 3 monthly, overlapping: between 7 and 14 scheduled ones stay.
    expect(kept('scheduled').length).toBeGreaterThanOrEqual(7);
    expect(kept('scheduled').length).toBeLessThanOrEqual(14);
    expect(kept('scheduled').length).toBeLessThan(40);
    // Manual: the newest 2 (the new one and the 0.01-day-old one), kept apart from scheduled ones.
    expect(kept('manual').map((b) => b.id)).toEqual([newest?.id, seeded[40]?.id]);
    expect(kept('pre_restore')).toHaveLength(1);
    expect(kept('pre_upgrade')).toHaveLength(0);
    expect(kept('final')).toHaveLength(1);
    expect(after.filter((b) => b.status === 'failed')).toHaveLength(0);
  }, 90_000);

  it('takes a scheduled backup once per daily slot, driven by the reconciler sweep', async () => {
    const backupRows = kit.app.app.get(InstanceBackupsRepository);
    const created = await kit.create();
    const row = await kit.waitForStatus(created.id, 'running');
    await seedOdooSchema(kit, row);
    // Created before today's slot (00:00 UTC): one scheduled backup is due.
    await kit.dataSource.query(`UPDATE instances SET created_at = now() - interval '2 days' WHERE id = $1`, [
      row.id,
    ]);

    const scheduled = await waitFor(
      'a scheduled backup to complete',
      async () => {
        const list = await backupRows.listForInstance(row.id);
        return list.find((b) => b.kind === 'scheduled' && b.verification !== null) ?? null;
      },
      60_000,
      250,
    );
    expect(scheduled).toMatchObject({
      requestedBy: 'backup-scheduler',
      status: 'completed',
      verification: 'passed',
    });
    await kit.waitForOperation(row.id, 'running', 30_000);
    // Several more sweeps (1 s apart): the slot is taken, no second one.
    await new Promise((r) => setTimeout(r, 3500));
    const all = await backupRows.listForInstance(row.id);
    expect(all.filter((b) => b.kind === 'scheduled')).toHaveLength(1);
    const events = await kit.instances.listEvents(row.id);
    expect(events.some((e) => e.actor === 'backup-scheduler' && e.action === 'backup')).toBe(true);
  }, 120_000);

  it('terminate takes a final backup and keeps the data; reactivate brings the instance back as it was', async () => {
    const backupRows = kit.app.app.get(InstanceBackupsRepository);
    const created = await kit.create();
    let row = await kit.waitForStatus(created.id, 'running');
    await seedOdooSchema(kit, row);
    const names = kit.names(row);

    await kit.act(row.id, 'terminate');
    row = await kit.waitForStatus(row.id, 'terminated', 60_000);
    const [final] = await backupRows.listForInstance(row.id);
    expect(final).toMatchObject({ kind: 'final', status: 'completed', verification: 'passed' });
    expect(row.purgedAt).toBeNull();
    expect(row.purgeAfter?.getTime()).toBeGreaterThan(Date.now() + 3000_000);
    const events = await kit.instances.listEvents(row.id);
    expect(events.find((e) => e.toStatus === 'terminated')?.reason).toMatch(
      new RegExp(`final backup ${final?.id} taken`),
    );
    // Stopped, not removed: container, volume, database and role are all still there.
    const [container] = await kit.containersOf(row.id);
    expect(container?.State).toBe('exited');
    expect(await kit.volumesOf(row.id)).toEqual([names.volume]);
    expect(await kit.pgObjects(row)).toEqual({ databases: 1, roles: 1 });

    await kit.act(row.id, 'reactivate');
    row = await kit.waitForStatus(row.id, 'running', 60_000);
    expect(row).toMatchObject({ terminatedAt: null, purgeAfter: null, desiredState: 'running' });
    const db = await kit.instanceDb(row);
    try {
      expect((await db.query(`SELECT login FROM res_users ORDER BY id`)).rows).toEqual([
        { login: '__system__' },
        { login: 'admin' },
      ]);
    } finally {
      await db.end();
    }
    expect(await kit.hostPortHealth(row)).toBe(200);
    // The purge job of the termination (delayed an hour) finds a live instance and removes nothing.
    await kit.queue.enqueue({
      name: 'purge',
      instanceId: row.id,
      generation: row.generation + 100,
      requestedBy: 'test',
    });
    await new Promise((r) => setTimeout(r, 2000));
    row = await kit.get(row.id);
    expect(row).toMatchObject({ status: 'running', purgedAt: null });
    expect(await kit.pgObjects(row)).toEqual({ databases: 1, roles: 1 });
    expect((await backupRows.listForInstance(row.id)).map((b) => b.id)).toContain(final?.id);
  }, 150_000);

  it('a purge also drops what a worker that died mid-verification or mid-restore left under the role', async () => {
    const provisioner = kit.app.app.get(OdooDatabaseProvisioner);
    const created = await kit.create();
    const row = await kit.waitForStatus(created.id, 'running');
    const names = kit.names(row);
    const password = kit.secrets.decrypt(row.id, 'db_password', (await kit.get(row.id)).dbPasswordEnc ?? '');
    const stray = `bkverify_${randomUUID().replace(/-/g, '')}`;
    await provisioner.ensure(stray, names.dbRole, password);
    await kit.app.app.get(InstanceRuntime).removeEverything(row);
    expect(await kit.pgObjects(row)).toEqual({ databases: 0, roles: 0 });
    expect(await kit.pgCountsByName(stray, names.dbRole)).toEqual({ databases: 0, roles: 0 });
  }, 90_000);

  it('settles what a dead worker left: a running backup without a job fails, an unverified one is verified', async () => {
    const backupRows = kit.app.app.get(InstanceBackupsRepository);
    const service = kit.app.app.get(InstanceBackupsService);
    const created = await kit.create();
    let row = await kit.waitForStatus(created.id, 'running');
    await seedOdooSchema(kit, row);
    await kit.act(row.id, 'backup');
    row = await kit.waitForOperation(row.id, 'running', 60_000);
    const [done] = await backupRows.listForInstance(row.id);
    expect(done?.verification).toBe('passed');
    // As if the worker died between `completed` and the verification's result.
    await kit.dataSource.query(
      `UPDATE instance_backups SET verification = NULL, verified_at = NULL, completed_at = now() - interval '5 minutes'
        WHERE id = $1`,
      [done?.id],
    );
    // As if the worker died in the middle of a backup whose job is gone for good.
    const orphan = randomUUID();
    const orphanDir = resolve(service.instanceDir(row.id), orphan);
    mkdirSync(orphanDir, { recursive: true });
    writeFileSync(resolve(orphanDir, 'database.dump'), 'partial');
    await kit.dataSource.query(
      `INSERT INTO instance_backups (id, instance_id, kind, status, job_id, database_name, odoo_version, requested_by,
                                     created_at)
       VALUES ($1, $2, 'scheduled', 'running', $3, $4, '17.0', 'backup-scheduler', now() - interval '10 minutes')`,
      [orphan, row.id, `${row.id}:backup:999`, row.databaseName],
    );

    await waitFor(
      'the sweep to settle both backups',
      async () => {
        const list = await backupRows.listForInstance(row.id);
        const failed = list.find((b) => b.id === orphan)?.status === 'failed';
        const verified = list.find((b) => b.id === done?.id)?.verification === 'passed';
        return failed && verified;
      },
      30_000,
      250,
    );
    const settled = await backupRows.findById(orphan);
    expect(settled?.error).toMatch(/ended without finishing/);
    expect(existsSync(orphanDir)).toBe(false);
  }, 120_000);

  it('refuses to reactivate once the data is purged', async () => {
    const created = await kit.create();
    const row = await kit.waitForStatus(created.id, 'running');
    await kit.act(row.id, 'terminate');
    await kit.waitForStatus(row.id, 'terminated', 60_000);
    await kit.dataSource.query(
      `UPDATE instances SET purge_after = now() - interval '1 second' WHERE id = $1`,
      [row.id],
    );
    await expect(kit.act(row.id, 'reactivate')).rejects.toMatchObject({ code: 'INSTANCE_PURGED' });
    expect(await kit.get(row.id)).toMatchObject({ status: 'terminated', desiredState: 'terminated' });
  }, 90_000);

  describe('restore into a new database and volume, then switch', () => {
    async function notes(row: InstanceEntity): Promise<string[]> {
      const db = await kit.instanceDb(row);
      try {
        return (await db.query<{ body: string }>(`SELECT body FROM notes ORDER BY id`)).rows.map(
          (r) => r.body,
        );
      } finally {
        await db.end();
      }
    }

    async function setNote(row: InstanceEntity, body: string): Promise<void> {
      const db = await kit.instanceDb(row);
      try {
        await db.query(`UPDATE notes SET body = $1`, [body]);
      } finally {
        await db.end();
      }
    }

    /** Databases and volumes a restore of this instance may have left behind. */
    async function leftovers(row: InstanceEntity): Promise<{ databases: string[]; volumes: string[] }> {
      const short = row.id.replace(/-/g, '').slice(0, 16);
      const dbs = await adminQuery<{ datname: string }>(
        `SELECT datname FROM pg_database WHERE datname LIKE 'rst\\_${short}%' OR datname LIKE 'old\\_${short}%'`,
      );
      return { databases: dbs.map((d) => d.datname), volumes: await kit.volumesOf(row.id) };
    }

    async function prepared(): Promise<{ row: InstanceEntity; backupId: string }> {
      const backupRows = kit.app.app.get(InstanceBackupsRepository);
      const created = await kit.create();
      let row = await kit.waitForStatus(created.id, 'running');
      await seedOdooSchema(kit, row);
      const db = await kit.instanceDb(row);
      try {
        await db.query(`CREATE TABLE notes (id int PRIMARY KEY, body text)`);
        await db.query(`INSERT INTO notes VALUES (1, 'before')`);
      } finally {
        await db.end();
      }
      await execIn(row.containerId ?? '', ['sh', '-c', 'echo original > /var/lib/odoo/filestore/marker.txt']);
      await kit.act(row.id, 'backup');
      row = await kit.waitForOperation(row.id, 'running', 60_000);
      const [backup] = await backupRows.listForInstance(row.id);
      expect(backup).toMatchObject({ kind: 'manual', status: 'completed' });
      await setNote(row, 'after');
      await execIn(row.containerId ?? '', ['sh', '-c', 'echo changed > /var/lib/odoo/filestore/marker.txt']);
      await kit.act(row.id, 'stop');
      row = await kit.waitForStatus(row.id, 'stopped');
      return { row, backupId: backup?.id ?? '' };
    }

    it('takes a pre_restore backup, restores into a new database and volume, switches, and drops the old ones', async () => {
      const backupRows = kit.app.app.get(InstanceBackupsRepository);
      const prep = await prepared();
      const backupId = prep.backupId;
      let row = prep.row;
      const oldVolume = kit.names(row).volume;

      await kit.act(row.id, 'restore', { backup_id: backupId });
      row = await kit.waitForOperation(row.id, 'stopped', 90_000);
      expect(row.lastError).toBeNull();
      const generation = (await kit.instances.listEvents(row.id)).find(
        (e) => e.action === 'restore',
      )?.generation;
      expect(row.volumeName).toBe(`odoo_data_${row.id}_r${generation}`);
      expect(await notes(row)).toEqual(['before']);

      // The safety copy holds what was there before the restore.
      const preRestore = (await backupRows.listForInstance(row.id)).find((b) => b.kind === 'pre_restore');
      expect(preRestore).toMatchObject({ status: 'completed', verification: 'passed' });
      const events = await kit.instances.listEvents(row.id);
      expect(events.find((e) => e.reason?.startsWith(`backup ${backupId} restored`))?.reason).toContain(
        `pre_restore backup ${preRestore?.id} taken first`,
      );
      // Old database (renamed, then dropped) and old volume are gone; only the new volume is left.
      expect(await leftovers(row)).toEqual({ databases: [], volumes: [row.volumeName] });
      expect(await kit.volumesOf(row.id)).not.toContain(oldVolume);

      await kit.act(row.id, 'start');
      row = await kit.waitForStatus(row.id, 'running', 60_000);
      const marker = await execIn(row.containerId ?? '', ['cat', '/var/lib/odoo/filestore/marker.txt']);
      expect(marker.output).toContain('original');
      expect(await kit.hostPortHealth(row)).toBe(200);
    }, 180_000);

    it('rolls back a restore that fails (dump that does not restore): data, volume and status as before, nothing left', async () => {
      const backupRows = kit.app.app.get(InstanceBackupsRepository);
      const prep = await prepared();
      const backupId = prep.backupId;
      let row = prep.row;
      const volumeBefore = kit.names(row).volume;
      // A dump whose checksum matches (recorded again) but that pg_restore rejects.
      const backup = await backupRows.findForInstance(row.id, backupId);
      const broken = Buffer.from('PGDMP this is not a custom-format dump');
      writeFileSync(backup?.dbDumpPath ?? '', broken);
      await kit.dataSource.query(
        `UPDATE instance_backups SET db_dump_sha256 = $2, db_dump_size = $3 WHERE id = $1`,
        [backupId, createHash('sha256').update(broken).digest('hex'), broken.length],
      );

      await kit.act(row.id, 'restore', { backup_id: backupId });
      row = await kit.waitForOperation(row.id, 'stopped', 90_000);
      expect(row.status).toBe('stopped');
      expect(row.lastError).toMatch(/restore of backup .* failed: pg_restore .*; rolled back/);
      expect(row.volumeName).toBe(volumeBefore);
      expect(await notes(row)).toEqual(['after']);
      expect(await leftovers(row)).toEqual({ databases: [], volumes: [volumeBefore] });

      await kit.act(row.id, 'start');
      row = await kit.waitForStatus(row.id, 'running', 60_000);
      const marker = await execIn(row.containerId ?? '', ['cat', '/var/lib/odoo/filestore/marker.txt']);
      expect(marker.output).toContain('changed');
    }, 180_000);
  });

  describe('download as an Odoo database-manager zip', () => {
    const secret = backupDownloadSecret({ NODE_ENV: 'test' }) ?? '';

    /** psql -f as the cluster admin, into a database made for it (what restoring dump.sql means). */
    function psqlFile(database: string, file: string): void {
      const args = [
        '-X',
        '-q',
        '-v',
        'ON_ERROR_STOP=1',
        '-p',
        process.env.POSTGRES_PORT ?? '5432',
        '-d',
        database,
        '-f',
        file,
      ];
      if (process.env.POSTGRES_PASSWORD) {
        execFileSync(
          'psql',
          [
            '-h',
            process.env.POSTGRES_HOST ?? '127.0.0.1',
            '-U',
            process.env.POSTGRES_USER ?? 'postgres',
            ...args,
          ],
          {
            env: { ...process.env, PGPASSWORD: process.env.POSTGRES_PASSWORD },
            stdio: 'pipe',
          },
        );
      } else {
        execFileSync('runuser', ['-u', 'postgres', '--', 'psql', ...args], { stdio: 'pipe' });
      }
    }

    it('streams dump.sql, filestore/ and manifest.json behind a signed, short-lived link; dump.sql restores with psql', async () => {
      const backupRows = kit.app.app.get(InstanceBackupsRepository);
      const created = await kit.create();
      let row = await kit.waitForStatus(created.id, 'running');
      await seedOdooSchema(kit, row);
      const store = `/var/lib/odoo/filestore/${row.databaseName}`;
      await execIn(row.containerId ?? '', [
        'sh',
        '-c',
        `mkdir -p ${store}/ab && echo attachment-content > ${store}/ab/abcdef0123 && mkdir -p /var/lib/odoo/sessions && echo s > /var/lib/odoo/sessions/x`,
      ]);
      await kit.act(row.id, 'backup');
      row = await kit.waitForOperation(row.id, 'running', 60_000);
      const [backup] = await backupRows.listForInstance(row.id);
      const id = backup?.id ?? '';
      const expires = Math.floor(Date.now() / 1000) + 60;
      const url = (exp: number, signature: string) =>
        `/backups/${id}/download?expires=${exp}&signature=${encodeURIComponent(signature)}`;

      const res = await kit.app.request({
        method: 'GET',
        url: url(expires, signBackupDownload(secret, id, expires)),
      });
      expect(res.statusCode).toBe(200);
      expect(res.headers['content-type']).toBe('application/zip');
      const dir = mkdtempSync(join(tmpdir(), 'bk-zip-'));
      chmodSync(dir, 0o755);
      try {
        const zipPath = join(dir, 'backup.zip');
        writeFileSync(zipPath, res.rawPayload);
        const listing = execFileSync('unzip', ['-Z1', zipPath]).toString().trim().split('\n').sort();
        expect(listing).toEqual(['dump.sql', 'filestore/ab/abcdef0123', 'manifest.json']);
        execFileSync('unzip', ['-q', zipPath, '-d', dir]);
        expect(readFileSync(join(dir, 'filestore/ab/abcdef0123'), 'utf8')).toBe('attachment-content\n');
        expect(JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8'))).toMatchObject({
          odoo_dump: '1',
          db_name: row.databaseName,
          version: '17.0',
          major_version: '17.0',
        });
        chmodSync(join(dir, 'dump.sql'), 0o644);
        const target = `bkzip_${id.replace(/-/g, '').slice(0, 16)}`;
        await adminSql(`CREATE DATABASE ${target}`);
        try {
          psqlFile(target, join(dir, 'dump.sql'));
          const users = await adminQuery<{ login: string }>(
            `SELECT login FROM res_users ORDER BY id`,
            target,
          );
          expect(users.map((u) => u.login)).toEqual(['__system__', 'admin']);
        } finally {
          await adminSql(`DROP DATABASE IF EXISTS ${target} WITH (FORCE)`);
        }
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }

      const forged = await kit.app.request({
        method: 'GET',
        url: url(expires + 3600, signBackupDownload(secret, id, expires)),
      });
      expect(forged.statusCode).toBe(403);
      expect(forged.json()).toMatchObject({ code: 'DOWNLOAD_LINK_INVALID' });
      const past = Math.floor(Date.now() / 1000) - 1;
      const expired = await kit.app.request({
        method: 'GET',
        url: url(past, signBackupDownload(secret, id, past)),
      });
      expect(expired.json()).toMatchObject({ statusCode: 403, code: 'DOWNLOAD_LINK_EXPIRED' });
      // A file that no longer matches its checksum is refused, never streamed as a good backup.
      writeFileSync(backup?.filestorePath ?? '', 'damaged');
      const damaged = await kit.app.request({
        method: 'GET',
        url: url(expires, signBackupDownload(secret, id, expires)),
      });
      expect(damaged.json()).toMatchObject({ statusCode: 409, code: 'BACKUP_CORRUPT' });
    }, 120_000);
  });
});
