import { execFileSync } from 'node:child_process';
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, connect, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import {
  BackupOffsiteCopiesRepository,
  backupDownloadSecret,
  InstanceBackupsRepository,
  signBackupDownload,
  type InstanceBackupEntity,
  type InstanceEntity,
} from '@app/instance-data';
import { MetricsRegistry } from '@app/metrics';
import { adminQuery, TEST_S3, testS3Env, TestS3Bucket } from '@app/testing';
import { OffsiteBackupCopies } from '../src/backups/offsite/offsite-backup-copies';
import { InstanceBackupsService } from '../src/lifecycle/instance-backups.service';
import { execIn, LifecycleTestKit, waitFor } from './support/worker-harness';

/*
 * Off-host copies of backups (issue #15, BACKUP_S3_*) against the real Docker engine, Postgres, Redis and the
 * S3-compatible server the test bootstrap starts (s3rver): every completed backup reaches the bucket whole,
 * restore and download work from the bucket alone, retention and purge leave no object behind, and an upload
 * cut off (store unreachable, worker restarted) is retried until whole, never listed as copied before.
 */

const bucket = new TestS3Bucket();

async function seedOdooSchema(kit: LifecycleTestKit, row: InstanceEntity): Promise<void> {
  const db = await kit.instanceDb(row);
  try {
    await db.query(`CREATE TABLE res_users (id serial PRIMARY KEY, login varchar NOT NULL)`);
    await db.query(`INSERT INTO res_users (login) VALUES ('__system__'), ('admin')`);
    await db.query(`CREATE TABLE ir_module_module (id serial PRIMARY KEY, name varchar, state varchar)`);
    await db.query(`CREATE TABLE notes (id int PRIMARY KEY, body text)`);
    await db.query(`INSERT INTO notes VALUES (1, 'before')`);
  } finally {
    await db.end();
  }
}

async function notes(kit: LifecycleTestKit, row: InstanceEntity): Promise<string[]> {
  const db = await kit.instanceDb(row);
  try {
    return (await db.query<{ body: string }>(`SELECT body FROM notes ORDER BY id`)).rows.map((r) => r.body);
  } finally {
    await db.end();
  }
}

function objectsOf(prefix: string, backup: InstanceBackupEntity): { key: string; size: number }[] {
  return [
    { key: `${prefix}${backup.instanceId}/${backup.id}/database.dump`, size: backup.dbDumpSize ?? -1 },
    { key: `${prefix}${backup.instanceId}/${backup.id}/filestore.tar.gz`, size: backup.filestoreSize ?? -1 },
  ];
}

/** The copy is `uploaded`, and at that moment both objects are whole in the bucket (size and sha256). */
async function waitUploaded(
  kit: LifecycleTestKit,
  prefix: string,
  backup: InstanceBackupEntity,
): Promise<void> {
  const copies = kit.app.app.get(BackupOffsiteCopiesRepository);
  await waitFor(
    `backup ${backup.id} copied off-host`,
    async () => (await copies.find(backup.id))?.state === 'uploaded',
    60_000,
  );
  expect(await bucket.list(`${prefix}${backup.instanceId}/${backup.id}/`)).toEqual(objectsOf(prefix, backup));
  const dump = await bucket.head(objectsOf(prefix, backup)[0]?.key ?? '');
  const filestore = await bucket.head(objectsOf(prefix, backup)[1]?.key ?? '');
  expect(dump?.Metadata?.sha256).toBe(backup.dbDumpSha256);
  expect(filestore?.Metadata?.sha256).toBe(backup.filestoreSha256);
}

async function backedUp(
  kit: LifecycleTestKit,
): Promise<{ row: InstanceEntity; backup: InstanceBackupEntity }> {
  const backupRows = kit.app.app.get(InstanceBackupsRepository);
  const created = await kit.create();
  let row = await kit.waitForStatus(created.id, 'running');
  await seedOdooSchema(kit, row);
  const store = `/var/lib/odoo/filestore/${row.databaseName}`;
  await execIn(row.containerId ?? '', [
    'sh',
    '-c',
    `mkdir -p ${store}/ab && echo attachment-content > ${store}/ab/abcdef0123 && echo original > /var/lib/odoo/filestore/marker.txt`,
  ]);
  await kit.act(row.id, 'backup');
  row = await kit.waitForOperation(row.id, 'running', 60_000);
  const [backup] = await backupRows.listForInstance(row.id);
  expect(backup).toMatchObject({ kind: 'manual', status: 'completed' });
  return { row, backup: backup as InstanceBackupEntity };
}

/** A backed-up instance whose backup is copied off-host, then lost from the worker's disk (every backup of it). */
async function offHostOnly(
  kit: LifecycleTestKit,
  prefix: string,
): Promise<{ row: InstanceEntity; backup: InstanceBackupEntity }> {
  const prepared = await backedUp(kit);
  await waitUploaded(kit, prefix, prepared.backup);
  rmSync(kit.app.app.get(InstanceBackupsService).instanceDir(prepared.row.id), {
    recursive: true,
    force: true,
  });
  return prepared;
}

/** GET of the backup's download, with a link signed as instance-service signs it. */
function download(kit: LifecycleTestKit, backup: InstanceBackupEntity) {
  const secret = backupDownloadSecret({ NODE_ENV: 'test' }) ?? '';
  const expires = Math.floor(Date.now() / 1000) + 60;
  return kit.app.request({
    method: 'GET',
    url: `/backups/${backup.id}/download?expires=${expires}&signature=${encodeURIComponent(signBackupDownload(secret, backup.id, expires))}`,
  });
}

describe('off-host backup copies (real Docker, Postgres, Redis and the test S3 server)', () => {
  const prefix = `test-${randomBytes(4).toString('hex')}/`;
  const kit = new LifecycleTestKit({ ...testS3Env(prefix), MANUAL_BACKUPS_KEEP: '1' });

  beforeAll(async () => {
    await bucket.ensure();
    await kit.startWorker();
  });
  afterAll(() => kit.cleanup(), 60_000);

  it('copies a completed backup to the bucket with the right size and sha256, listed there only once checked', async () => {
    const { backup } = await backedUp(kit);
    await waitUploaded(kit, prefix, backup);
    const copies = kit.app.app.get(BackupOffsiteCopiesRepository);
    expect((await copies.uploadedAt([backup.id])).get(backup.id)).toBeInstanceOf(Date);
    expect(await copies.find(backup.id)).toMatchObject({ state: 'uploaded', lastError: null, claim: null });
  }, 120_000);

  it('deletes the objects of a copy whose backup row is gone (an orphan), whatever removed the row', async () => {
    const created = await kit.create();
    const instance = await kit.waitForStatus(created.id, 'running');
    const id = randomUUID();
    const objectPrefix = `${prefix}${instance.id}/${id}/`;
    await bucket.put(`${objectPrefix}database.dump`, 'dump');
    await bucket.put(`${objectPrefix}filestore.tar.gz`, 'archive');
    await kit.dataSource.query(
      `INSERT INTO backup_offsite_copies (backup_id, instance_id, object_prefix, state, uploaded_at, created_at)
       VALUES ($1, $2, $3, 'uploaded', now() - interval '2 minutes', now() - interval '2 minutes')`,
      [id, instance.id, objectPrefix],
    );
    await waitFor(
      'the orphan copy deleted',
      async () =>
        (await bucket.list(objectPrefix)).length === 0 &&
        !(await kit.app.app.get(BackupOffsiteCopiesRepository).find(id)),
      30_000,
    );
  }, 60_000);

  it('restores and downloads from the bucket once the local files are lost', async () => {
    const service = kit.app.app.get(InstanceBackupsService);
    const prepared = await offHostOnly(kit, prefix);
    let row = prepared.row;
    const { backup } = prepared;
    const res = await download(kit, backup);
    expect(res.statusCode).toBe(200);
    const dir = mkdtempSync(join(tmpdir(), 'bk-offsite-zip-'));
    chmodSync(dir, 0o755);
    try {
      const zipPath = join(dir, 'backup.zip');
      writeFileSync(zipPath, res.rawPayload);
      const listing = execFileSync('unzip', ['-Z1', zipPath]).toString().trim().split('\n').sort();
      expect(listing).toEqual(['dump.sql', 'filestore/ab/abcdef0123', 'manifest.json']);
      expect(execFileSync('unzip', ['-p', zipPath, 'dump.sql']).toString()).toContain('before');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }

    // Lost again, and the instance's data changed since: a restore brings the backup's data back from the bucket.
    rmSync(service.instanceDir(row.id), { recursive: true, force: true });
    const db = await kit.instanceDb(row);
    try {
      await db.query(`UPDATE notes SET body = 'after'`);
    } finally {
      await db.end();
    }
    await execIn(row.containerId ?? '', ['sh', '-c', 'echo changed > /var/lib/odoo/filestore/marker.txt']);
    await kit.act(row.id, 'stop');
    row = await kit.waitForStatus(row.id, 'stopped');
    await kit.act(row.id, 'restore', { backup_id: backup.id });
    row = await kit.waitForOperation(row.id, 'stopped', 120_000);
    expect(row.lastError).toBeNull();
    expect(await notes(kit, row)).toEqual(['before']);
    await kit.act(row.id, 'start');
    row = await kit.waitForOperation(row.id, 'running', 60_000);
    const marker = await execIn(row.containerId ?? '', ['cat', '/var/lib/odoo/filestore/marker.txt']);
    expect(marker.output).toContain('original');
    expect(marker.output).not.toContain('changed');
  }, 240_000);

  it('deletes the remote objects of backups retention prunes, and of every backup at the purge', async () => {
    const backupRows = kit.app.app.get(InstanceBackupsRepository);
    const copies = kit.app.app.get(BackupOffsiteCopiesRepository);
    const { row, backup: first } = await backedUp(kit);
    await waitUploaded(kit, prefix, first);

    // MANUAL_BACKUPS_KEEP=1: the second manual backup prunes the first, here and in the bucket.
    await kit.act(row.id, 'backup');
    await kit.waitForOperation(row.id, 'running', 60_000);
    const [second] = await backupRows.listForInstance(row.id);
    expect(second?.id).not.toBe(first.id);
    expect(await backupRows.findById(first.id)).toBeNull();
    await waitFor(
      'the pruned backup gone from the bucket',
      async () =>
        (await bucket.list(`${prefix}${row.id}/${first.id}/`)).length === 0 && !(await copies.find(first.id)),
      30_000,
    );
    await waitUploaded(kit, prefix, second as InstanceBackupEntity);

    // Terminate (a final backup) and purge at once (INSTANCE_PURGE_AFTER_SECONDS=0): nothing of it stays.
    await kit.act(row.id, 'terminate');
    await waitFor(
      'the purge',
      async () => (await kit.instances.findById(row.id))?.purgedAt instanceof Date,
      90_000,
    );
    // Each copy's objects go first, then its row (a worker dying in between deletes them again): wait for both.
    const copyRowsLeft = async () =>
      (
        await kit.dataSource.query<{ n: number }[]>(
          `SELECT count(*)::int AS n FROM backup_offsite_copies WHERE instance_id = $1`,
          [row.id],
        )
      )[0]?.n;
    await waitFor(
      'every object and copy row of the instance gone',
      async () => (await bucket.list(`${prefix}${row.id}/`)).length === 0 && (await copyRowsLeft()) === 0,
      30_000,
    );
    expect(await bucket.list(`${prefix}${row.id}/`)).toEqual([]);
    expect(await copyRowsLeft()).toBe(0);
  }, 240_000);
});

/**
 * A TCP forwarder to the test S3 server that can cut every connection once `cutAfter` bytes went upstream
 * (the store going away mid-upload), hang them instead (a store that stops answering), refuse every connection
 * (a store that is down), or pass everything.
 */
class FlakyS3Proxy {
  private server?: Server;
  private readonly sockets = new Set<Socket>();
  private sent = 0;
  mode: 'pass' | 'cut' | 'hang' | 'down' = 'pass';
  cutAfter = 0;
  port = 0;

  async start(): Promise<string> {
    const target = new URL(TEST_S3.endpoint);
    this.server = createServer((client) => {
      if (this.mode === 'down') {
        client.destroy();
        return;
      }
      const upstream = connect(Number(target.port), target.hostname);
      for (const s of [client, upstream]) {
        this.sockets.add(s);
        s.on('close', () => this.sockets.delete(s));
        s.on('error', () => s.destroy());
      }
      client.on('data', (chunk: Buffer) => {
        this.sent += chunk.length;
        if (this.mode !== 'pass' && this.sent > this.cutAfter) {
          if (this.mode === 'cut') for (const s of this.sockets) s.destroy();
          return; // hang: swallow, the request never completes
        }
        upstream.write(chunk);
      });
      upstream.pipe(client);
      client.on('close', () => upstream.destroy());
      upstream.on('close', () => client.destroy());
    });
    await new Promise<void>((resolvePromise) => this.server?.listen(0, '127.0.0.1', resolvePromise));
    const address = this.server.address();
    this.port = typeof address === 'object' && address ? address.port : 0;
    return `http://127.0.0.1:${this.port}`;
  }

  /** From now on, cut (or hang) once `bytes` more went upstream. */
  breakAfter(mode: 'cut' | 'hang', bytes: number): void {
    this.cutAfter = this.sent + bytes;
    this.mode = mode;
  }

  /** The store is gone: every connection, open or new, is cut at once. */
  down(): void {
    this.mode = 'down';
    for (const s of this.sockets) s.destroy();
  }

  heal(): void {
    this.mode = 'pass';
  }

  async stop(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolvePromise) =>
      this.server ? this.server.close(() => resolvePromise()) : resolvePromise(),
    );
  }
}

describe('off-host copies survive an interrupted upload (store cut off, worker restarted)', () => {
  const prefix = `test-${randomBytes(4).toString('hex')}/`;
  const proxy = new FlakyS3Proxy();
  let kit: LifecycleTestKit;

  beforeAll(async () => {
    await bucket.ensure();
    kit = new LifecycleTestKit({ ...testS3Env(prefix, await proxy.start()) });
    await kit.startWorker();
  });
  afterAll(async () => {
    await kit.cleanup();
    await proxy.stop();
  }, 60_000);

  /** A completed backup row with two 12 MiB files of random bytes (several multipart parts each). */
  async function bigBackup(
    instance: InstanceEntity,
    id: string = randomUUID(),
  ): Promise<InstanceBackupEntity> {
    const service = kit.app.app.get(InstanceBackupsService);
    const dir = resolve(service.instanceDir(instance.id), id);
    mkdirSync(dir, { recursive: true });
    const files = ['database.dump', 'filestore.tar.gz'].map((name) => {
      const data = randomBytes(12 * 1024 * 1024);
      writeFileSync(resolve(dir, name), data);
      return {
        path: resolve(dir, name),
        sha256: createHash('sha256').update(data).digest('hex'),
        size: data.length,
      };
    });
    await kit.dataSource.query(
      `INSERT INTO instance_backups (id, instance_id, kind, status, database_name, odoo_version, requested_by,
                                     created_at, completed_at, db_dump_path, db_dump_sha256, db_dump_size,
                                     filestore_path, filestore_sha256, filestore_size)
       VALUES ($1, $2, 'manual', 'completed', $3, '17.0', 'test', now(), now(), $4, $5, $6, $7, $8, $9)`,
      [
        id,
        instance.id,
        instance.databaseName,
        files[0]?.path,
        files[0]?.sha256,
        files[0]?.size,
        files[1]?.path,
        files[1]?.sha256,
        files[1]?.size,
      ],
    );
    const row = await kit.app.app.get(InstanceBackupsRepository).findById(id);
    return row as InstanceBackupEntity;
  }

  /** Polls until `until` holds, failing if the copy is ever `uploaded` while its objects are not whole. */
  async function watchCopy(
    backup: InstanceBackupEntity,
    what: string,
    until: () => Promise<boolean>,
  ): Promise<void> {
    const copies = kit.app.app.get(BackupOffsiteCopiesRepository);
    await waitFor(
      what,
      async () => {
        const copy = await copies.find(backup.id);
        if (copy?.state === 'uploaded') {
          expect(await bucket.list(`${prefix}${backup.instanceId}/${backup.id}/`)).toEqual(
            objectsOf(prefix, backup),
          );
        }
        return until();
      },
      90_000,
    );
  }

  it('a download or restore that needs the off-host copy while the store is down waits for it: 503, then restored once it is back', async () => {
    const prepared = await offHostOnly(kit, prefix);
    let row = prepared.row;
    const { backup } = prepared;
    // The only copy left is off-host, and the store goes down.
    proxy.down();
    try {
      const res = await download(kit, backup);
      // Not 409 BACKUP_CORRUPT: nothing says the copy is bad.
      expect(res.statusCode).toBe(503);
      expect(res.json()).toMatchObject({ code: 'BACKUP_STORE_UNAVAILABLE' });
      expect(res.headers['retry-after']).toBe('60');

      const db = await kit.instanceDb(row);
      try {
        await db.query(`UPDATE notes SET body = 'after'`);
      } finally {
        await db.end();
      }
      await kit.act(row.id, 'stop');
      row = await kit.waitForStatus(row.id, 'stopped');
      await kit.act(row.id, 'restore', { backup_id: backup.id });
      // Both attempts meet the store down; the last one waits for it instead of failing the restore for good.
      row = await waitFor(
        'the restore to wait for the store',
        async () => {
          const current = await kit.get(row.id);
          return current.statusReason?.startsWith('waiting for an unreachable dependency') ? current : null;
        },
        60_000,
        250,
      );
      expect(row.statusReason).toContain(`backup ${backup.id}: the off-host copy is out of reach for now`);
      expect(row).toMatchObject({ status: 'stopped', lastError: null });
      expect(row.pendingOperation).toMatchObject({ action: 'restore' });
      expect(await notes(kit, row)).toEqual(['after']); // untouched while it waits
    } finally {
      proxy.heal();
    }
    row = await kit.waitForOperation(row.id, 'stopped', 120_000);
    expect(row.lastError).toBeNull();
    expect(await notes(kit, row)).toEqual(['before']);
    expect(await kit.app.app.get(InstanceBackupsRepository).findById(backup.id)).toMatchObject({
      status: 'completed',
    });
  }, 240_000);

  it('an upload cut off mid-way by the store is retried until whole, and never listed as copied before', async () => {
    const copies = kit.app.app.get(BackupOffsiteCopiesRepository);
    const created = await kit.create();
    const instance = await kit.waitForStatus(created.id, 'running');
    proxy.breakAfter('cut', 6 * 1024 * 1024);
    const backup = await bigBackup(instance);

    await watchCopy(backup, 'the cut-off upload to fail', async () =>
      Boolean((await copies.find(backup.id))?.lastError),
    );
    const failed = await copies.find(backup.id);
    expect(failed).toMatchObject({ state: 'pending' });
    expect((await copies.uploadedAt([backup.id])).size).toBe(0);
    // The multipart upload never completed: no object, not even half of one.
    expect(await bucket.list(`${prefix}${backup.instanceId}/${backup.id}/`)).toEqual([]);

    const failures = await kit.app.app
      .get(MetricsRegistry)
      .registry.getSingleMetric('backup_offsite_operations_total')
      ?.get();
    expect(
      failures?.values.find((v) => v.labels.operation === 'upload' && v.labels.result === 'failed')?.value,
    ).toBeGreaterThanOrEqual(1);
    // What BackupOffsiteCopyLagging watches: the copy waits, and the gauge says for how long.
    const waiting = await kit.app.app
      .get(MetricsRegistry)
      .registry.getSingleMetric('backup_offsite_copy_oldest_pending_seconds')
      ?.get();
    expect(waiting?.values[0]?.value).toBeGreaterThan(0);

    proxy.heal();
    await watchCopy(
      backup,
      'the retried upload',
      async () => (await copies.find(backup.id))?.state === 'uploaded',
    );
    await waitUploaded(kit, prefix, backup);
    expect((await copies.find(backup.id))?.attempts).toBeGreaterThanOrEqual(2);
  }, 180_000);

  it('a copy held by a worker that died (SIGKILL: lease never released) is taken over once its lease runs out', async () => {
    const copies = kit.app.app.get(BackupOffsiteCopiesRepository);
    const created = await kit.create();
    const instance = await kit.waitForStatus(created.id, 'running');
    // What a killed worker leaves: the row claimed, the lease still running, nothing uploaded (made before
    // the backup row, so no live worker claims it first).
    const id = randomUUID();
    await kit.dataSource.query(
      `INSERT INTO backup_offsite_copies (backup_id, instance_id, object_prefix, claim, lease_until, attempts)
       VALUES ($1, $2, $3, $4, now() + interval '4 seconds', 1)`,
      [id, instance.id, `${prefix}${instance.id}/${id}/`, randomUUID()],
    );
    const backup = await bigBackup(instance, id);
    const heldUntil = Date.now() + 4000;
    await watchCopy(
      backup,
      'the take-over after the lease',
      async () => (await copies.find(backup.id))?.state === 'uploaded',
    );
    // Nobody touched it while the dead worker's lease ran.
    expect(Date.now()).toBeGreaterThanOrEqual(heldUntil - 500);
    await waitUploaded(kit, prefix, backup);
  }, 120_000);

  it('an upload in flight when the worker stops is taken up by the next worker and ends uploaded', async () => {
    const copies = kit.app.app.get(BackupOffsiteCopiesRepository);
    const created = await kit.create();
    const instance = await kit.waitForStatus(created.id, 'running');
    proxy.breakAfter('hang', 4 * 1024 * 1024);
    const backup = await bigBackup(instance);
    await waitFor(
      'the upload to be under way',
      async () => Boolean((await copies.find(backup.id))?.claim),
      30_000,
    );

    // A restart: this worker stops mid-upload (its requests cancelled), another one starts.
    await kit.stopWorker(kit.app);
    // No worker runs now: read the row as the cluster admin.
    const [afterStop] = await adminQuery<{ state: string; claim: string | null }>(
      `SELECT state, claim FROM backup_offsite_copies WHERE backup_id = '${backup.id}'`,
      kit.database,
    );
    expect(afterStop).toEqual({ state: 'pending', claim: null });
    expect(await bucket.list(`${prefix}${backup.instanceId}/${backup.id}/`)).toEqual([]);
    proxy.heal();
    await kit.startWorker();
    const copiesNow = kit.app.app.get(BackupOffsiteCopiesRepository);
    await watchCopy(
      backup,
      'the upload after the restart',
      async () => (await copiesNow.find(backup.id))?.state === 'uploaded',
    );
    await waitUploaded(kit, prefix, backup);
    expect(existsSync(backup.dbDumpPath ?? '')).toBe(true);
    expect(kit.app.app.get(OffsiteBackupCopies).enabled).toBe(true);
  }, 180_000);
});

describe('without BACKUP_S3_* nothing is copied', () => {
  const kit = new LifecycleTestKit();

  beforeAll(async () => {
    await kit.startWorker();
  });
  afterAll(() => kit.cleanup(), 60_000);

  it('keeps backups on the host only: no copy row, no store, the local files as before', async () => {
    expect(kit.app.app.get(OffsiteBackupCopies).enabled).toBe(false);
    const { backup } = await backedUp(kit);
    expect(existsSync(backup.dbDumpPath ?? '')).toBe(true);
    expect(await kit.app.app.get(OffsiteBackupCopies).drain()).toBe(0);
    const rows = await kit.dataSource.query<{ n: number }[]>(
      `SELECT count(*)::int AS n FROM backup_offsite_copies`,
    );
    expect(rows[0]?.n).toBe(0);
    // Lost local files stay lost: nothing to fetch back from.
    rmSync(backup.dbDumpPath ?? '', { force: true });
    const res = await download(kit, backup);
    expect(res.json()).toMatchObject({ statusCode: 409, code: 'BACKUP_CORRUPT' });
  }, 120_000);
});

afterAll(() => bucket.destroy());
