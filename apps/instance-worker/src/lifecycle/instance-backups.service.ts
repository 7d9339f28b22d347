import { Inject, Injectable, Logger } from '@nestjs/common';
import { spawn } from 'node:child_process';
import { createHash, randomUUID } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import { resolve } from 'node:path';
import { PassThrough, Transform, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip, createGzip } from 'node:zlib';
import { APP_CONFIG } from '@app/config';
import {
  InstanceBackupsRepository,
  InstancesRepository,
  type BackupFileRecord,
  type BackupKind,
  type InstanceBackupEntity,
  type InstanceEntity,
} from '@app/instance-data';
import { PermanentJobError } from '@app/queue';
import { backupRetentionFor } from '@app/tenancy';
import { expiredBackups } from '../backups/backup-retention';
import { BackupVerifier } from '../backups/backup-verifier';
import { readDumpManifest } from '../backups/dump-manifest';
import { OffsiteBackupCopies } from '../backups/offsite/offsite-backup-copies';
import { OffsiteStoreUnavailableError } from '../backups/offsite/offsite-backup-store';
import type { Config } from '../config/env';
import { InstanceRuntime } from './instance-runtime';
import { OdooDatabaseProvisioner } from './odoo-database.provisioner';

const DB_DUMP_FILE = 'database.dump';
const FILESTORE_FILE = 'filestore.tar.gz';

class DigestTap extends Transform {
  private readonly hash = createHash('sha256');
  size = 0;

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.hash.update(chunk);
    this.size += chunk.length;
    callback(null, chunk);
  }

  digest(): string {
    return this.hash.digest('hex');
  }
}

async function sha256OfFile(path: string): Promise<{ sha256: string; size: number }> {
  const tap = new DigestTap();
  await pipeline(createReadStream(path), tap, new PassThrough().resume());
  return { sha256: tap.digest(), size: tap.size };
}

export class BackupCorruptError extends PermanentJobError {}

/**
 * Backups of an instance: `pg_dump -Fc` of its database, run on the worker's host as the instance's own
 * role (never a superuser), and a gzipped tar of its data volume read through the Docker archive API.
 * Each file's sha256 is computed while writing and checked again by re-reading before the backup counts
 * as completed. Hot: a running instance keeps running (pg_dump takes a consistent snapshot; Odoo's
 * filestore is append-mostly, like Odoo's own database manager backup).
 */
@Injectable()
export class InstanceBackupsService {
  private readonly logger = new Logger(InstanceBackupsService.name);

  constructor(
    private readonly runtime: InstanceRuntime,
    private readonly provisioner: OdooDatabaseProvisioner,
    private readonly backups: InstanceBackupsRepository,
    private readonly instances: InstancesRepository,
    private readonly verifier: BackupVerifier,
    private readonly offsite: OffsiteBackupCopies,
    @Inject(APP_CONFIG) private readonly config: Config,
  ) {}

  get root(): string {
    return resolve(this.config.BACKUP_DIR);
  }

  instanceDir(instanceId: string): string {
    return resolve(this.root, instanceId);
  }

  async ensureRootWritable(): Promise<void> {
    await mkdir(this.root, { recursive: true, mode: 0o700 });
  }

  /** Makes (or, for a retried job, finishes) the backup of `jobId`; returns the completed row. */
  async create(
    instance: InstanceEntity,
    containerId: string,
    options: { kind: BackupKind; jobId: string; requestedBy: string },
  ): Promise<InstanceBackupEntity> {
    let row = await this.backups.startForJob({
      id: randomUUID(),
      instanceId: instance.id,
      kind: options.kind,
      jobId: options.jobId,
      databaseName: instance.databaseName,
      odooVersion: instance.odooVersion,
      image: this.runtime.currentImage(instance),
      requestedBy: options.requestedBy,
    });
    if (row.status === 'completed') return row;
    if (row.status === 'failed') await this.backups.resetForRetry(row.id);
    const dir = resolve(this.instanceDir(instance.id), row.id);
    try {
      await rm(dir, { recursive: true, force: true });
      await mkdir(dir, { recursive: true, mode: 0o700 });
      const dbDump = await this.dumpDatabase(instance, resolve(dir, DB_DUMP_FILE));
      const filestore = await this.archiveData(instance, containerId, resolve(dir, FILESTORE_FILE));
      await this.verifyFile(dbDump);
      await this.verifyFile(filestore);
      const manifest = await readDumpManifest(this.config.PG_RESTORE_BIN, dbDump.path, instance.odooVersion);
      row = await this.backups.markCompleted(row.id, { dbDump, filestore }, manifest);
      await this.offsite.enqueue(row);
      this.logger.log(
        `instance ${instance.id}: backup ${row.id} completed (${dbDump.size + filestore.size} bytes)`,
      );
    } catch (error) {
      await rm(dir, { recursive: true, force: true }).catch(() => undefined);
      await this.backups.markFailed(row.id, error instanceof Error ? error.message : String(error));
      throw error;
    }
    if (this.config.BACKUP_VERIFY) {
      const verification = await this.verifier.verify(instance, row);
      Object.assign(row, { verification: verification.result, verificationError: verification.error });
    }
    return row;
  }

  /**
   * Removes what retention lets go (files, then rows): scheduled backups by the plan's grandfather-father-son
   * policy, manual ones beyond the newest MANUAL_BACKUPS_KEEP, safety copies after 7 days; failed ones' files.
   */
  async applyRetention(instanceId: string, now = new Date()): Promise<number> {
    const instance = await this.instances.findById(instanceId);
    const policy = {
      ...backupRetentionFor(instance?.planName ?? null),
      manualKeep: this.config.MANUAL_BACKUPS_KEEP,
    };
    const all = await this.backups.listAllForInstance(instanceId);
    const expired = expiredBackups(all, policy, now);
    await this.offsite.forget(expired.map((backup) => backup.id));
    for (const backup of expired) {
      await rm(resolve(this.instanceDir(instanceId), backup.id), { recursive: true, force: true });
      await this.backups.delete(backup.id);
    }
    for (const failed of await this.backups.listFailed(instanceId)) {
      await rm(resolve(this.instanceDir(instanceId), failed.id), { recursive: true, force: true });
    }
    return expired.length;
  }

  /**
   * Both files still match the checksums recorded at backup time. When the local files are gone or damaged
   * and an off-host copy exists, that copy is fetched back into their place first (restore and download then
   * read it as usual). BackupCorruptError (permanent) when no good copy exists; OffsiteStoreUnavailableError
   * when the only copy is in a store that cannot be reached now.
   */
  async verify(backup: InstanceBackupEntity): Promise<void> {
    try {
      await this.verifyLocal(backup);
    } catch (error) {
      if (!(error instanceof BackupCorruptError) || backup.status !== 'completed') throw error;
      const fetched = await this.offsite.fetchBack(backup).catch((fetchError: unknown) => {
        const reason = fetchError instanceof Error ? fetchError.message : String(fetchError);
        // The copy may be fine: the store is down. Not corrupt: the caller waits for it (job) or says 503.
        if (fetchError instanceof OffsiteStoreUnavailableError) {
          throw new OffsiteStoreUnavailableError(
            `backup ${backup.id}: the off-host copy is out of reach for now (${reason}); local files: ${error.message}`,
            { cause: fetchError },
          );
        }
        throw new BackupCorruptError(
          `${error.message}; the off-host copy could not be fetched either: ${reason}`,
        );
      });
      if (!fetched) throw error;
      await this.verifyLocal(backup);
    }
  }

  private async verifyLocal(backup: InstanceBackupEntity): Promise<void> {
    if (backup.status !== 'completed')
      throw new BackupCorruptError(`backup ${backup.id} is ${backup.status}`);
    for (const [path, sha256, size] of [
      [backup.dbDumpPath, backup.dbDumpSha256, backup.dbDumpSize],
      [backup.filestorePath, backup.filestoreSha256, backup.filestoreSize],
    ] as const) {
      if (!path || !sha256 || size === null) throw new BackupCorruptError(`backup ${backup.id} lacks a file`);
      await this.verifyFile({ path, sha256, size });
    }
  }

  /** Empty database again, then `pg_restore` as the instance's role. */
  async restoreDatabase(
    instance: InstanceEntity,
    backup: InstanceBackupEntity,
    password: string,
  ): Promise<void> {
    if (!backup.dbDumpPath) throw new BackupCorruptError(`backup ${backup.id} has no database dump`);
    const names = this.runtime.names(instance);
    await this.provisioner.recreateDatabase(names.database, names.dbRole, password);
    await this.run(
      this.config.PG_RESTORE_BIN,
      [
        ...this.connectionArgs(instance),
        '--no-owner',
        '--no-privileges',
        '--exit-on-error',
        '--single-transaction',
        `--dbname=${names.database}`,
        backup.dbDumpPath,
      ],
      password,
    );
  }

  filestoreTar(backup: InstanceBackupEntity): NodeJS.ReadableStream {
    if (!backup.filestorePath) throw new BackupCorruptError(`backup ${backup.id} has no filestore archive`);
    // pipeline, not pipe: a read error destroys the gunzip stream with it, so its consumer sees the error.
    const gunzip = createGunzip();
    pipeline(createReadStream(backup.filestorePath), gunzip).catch(() => undefined);
    return gunzip;
  }

  async deleteAll(instanceId: string): Promise<void> {
    await this.offsite.forgetInstance(instanceId);
    await rm(this.instanceDir(instanceId), { recursive: true, force: true });
    await this.backups.deleteAllForInstance(instanceId);
  }

  private connectionArgs(instance: InstanceEntity): string[] {
    return [
      `--host=${this.config.ODOO_DB_HOST}`,
      `--port=${this.config.ODOO_DB_PORT}`,
      `--username=${this.runtime.names(instance).dbRole}`,
      '--no-password',
    ];
  }

  private async dumpDatabase(instance: InstanceEntity, path: string): Promise<BackupFileRecord> {
    const password = await this.runtime.dbPassword(instance);
    const tap = new DigestTap();
    const child = spawn(
      this.config.PG_DUMP_BIN,
      [
        ...this.connectionArgs(instance),
        '--format=custom',
        `--dbname=${this.runtime.names(instance).database}`,
      ],
      {
        env: { ...process.env, PGPASSWORD: password, PGCONNECT_TIMEOUT: '10' },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    const exit = this.exitOf(child, 'pg_dump');
    await pipeline(child.stdout, tap, createWriteStream(path, { mode: 0o600 }));
    await exit;
    return { path, sha256: tap.digest(), size: tap.size };
  }

  private async archiveData(
    instance: InstanceEntity,
    containerId: string,
    path: string,
  ): Promise<BackupFileRecord> {
    const tap = new DigestTap();
    await pipeline(
      await this.runtime.copyDataOut(instance, containerId),
      createGzip(),
      tap,
      createWriteStream(path, { mode: 0o600 }),
    );
    return { path, sha256: tap.digest(), size: tap.size };
  }

  private async verifyFile(file: BackupFileRecord): Promise<void> {
    const actual = await sha256OfFile(file.path).catch((error: unknown) => {
      throw new BackupCorruptError(
        `cannot read ${file.path}: ${error instanceof Error ? error.message : String(error)}`,
      );
    });
    if (actual.sha256 !== file.sha256 || actual.size !== file.size) {
      throw new BackupCorruptError(
        `${file.path}: sha256 ${actual.sha256} (${actual.size} bytes) does not match ${file.sha256} (${file.size} bytes)`,
      );
    }
  }

  private async run(bin: string, args: string[], password: string): Promise<void> {
    const child = spawn(bin, args, {
      env: { ...process.env, PGPASSWORD: password, PGCONNECT_TIMEOUT: '10' },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    await this.exitOf(child, bin);
  }

  private exitOf(child: ReturnType<typeof spawn>, what: string): Promise<void> {
    let stderr = '';
    child.stderr?.on('data', (chunk: Buffer) => {
      if (stderr.length < 4000) stderr += chunk.toString('utf8');
    });
    return new Promise<void>((resolvePromise, reject) => {
      child.once('error', reject);
      child.once('close', (code, signal) => {
        if (code === 0) resolvePromise();
        else
          reject(new Error(`${what} failed (${signal ?? `exit ${code}`}): ${stderr.trim().slice(0, 1000)}`));
      });
    });
  }
}
