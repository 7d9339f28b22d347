import {
  Inject,
  Injectable,
  Logger,
  type OnApplicationBootstrap,
  type OnModuleDestroy,
} from '@nestjs/common';
import { createHash, randomUUID } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, rename, rm } from 'node:fs/promises';
import { dirname } from 'node:path';
import { PassThrough, Transform, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { Counter, type Metric } from 'prom-client';
import { APP_CONFIG } from '@app/config';
import {
  BackupOffsiteCopiesRepository,
  InstanceBackupsRepository,
  type InstanceBackupEntity,
  type OffsiteCopy,
} from '@app/instance-data';
import { MetricsRegistry } from '@app/metrics';
import type { OffsiteBackupEnv } from './offsite-backup-env';
import { OFFSITE_BACKUP_STORE, type OffsiteBackupStore } from './offsite-backup-store';

/** The two files of a backup, by their object name under the backup's prefix. */
const FILES = ['database.dump', 'filestore.tar.gz'] as const;
type FileName = (typeof FILES)[number];

/** A worker holds a copy this long without renewing; it renews every third of it while uploading. */
const LEASE_SECONDS = 60;
/** Rows handled per pass at most (the next pass follows at once when this many were due). */
const BATCH = 20;
const MAX_RETRY_SECONDS = 3600;
/** A copy row without its backup row this long is an orphan (its objects are deleted). */
const ORPHAN_GRACE_SECONDS = 60;

class Sha256Tap extends Transform {
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

function message(error: unknown): string {
  return (error instanceof Error ? `${error.name}: ${error.message}` : String(error)).slice(0, 1000);
}

interface LocalFile {
  name: FileName;
  path: string;
  sha256: string;
  size: number;
}

function filesOf(backup: InstanceBackupEntity): LocalFile[] {
  const { dbDumpPath, dbDumpSha256, dbDumpSize, filestorePath, filestoreSha256, filestoreSize } = backup;
  if (!dbDumpPath || !dbDumpSha256 || dbDumpSize === null)
    throw new Error(`backup ${backup.id} lacks its dump`);
  if (!filestorePath || !filestoreSha256 || filestoreSize === null)
    throw new Error(`backup ${backup.id} lacks its filestore archive`);
  return [
    { name: 'database.dump', path: dbDumpPath, sha256: dbDumpSha256, size: dbDumpSize },
    { name: 'filestore.tar.gz', path: filestorePath, sha256: filestoreSha256, size: filestoreSize },
  ];
}

/**
 * Off-host copies of completed backups (issue #15). Durable and exact: every completed backup gets a
 * `backup_offsite_copies` row (`pending`) in the database; a background pass, here and in every other worker,
 * claims due rows under a lease and uploads both files (multipart, streamed from disk), then checks the remote
 * objects (size, and the sha256 stored in their metadata, which must be the one recorded when the backup was
 * made) before the row says `uploaded`. A failure (store down, connection cut, worker stopped) releases the row
 * with its error and a growing delay, and the next pass uploads again; an unfinished multipart upload is never
 * an object, and a finished one is overwritten. Pruned and purged backups' rows turn `deleting` before their
 * backup rows go, and stay until both objects are deleted: no orphans in the bucket.
 *
 * Restore and download read the local files; when they are gone (a lost disk, a new host), `fetchBack` streams
 * the remote copy into their place, checked against the recorded sha256.
 */
@Injectable()
export class OffsiteBackupCopies implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger(OffsiteBackupCopies.name);
  private timer?: NodeJS.Timeout;
  private running?: Promise<void>;
  private again = false;
  private stopped = false;
  private readonly inFlight = new Set<AbortController>();
  private readonly operations: Counter<'operation' | 'result'>;

  constructor(
    @Inject(OFFSITE_BACKUP_STORE) private readonly store: OffsiteBackupStore | null,
    private readonly copies: BackupOffsiteCopiesRepository,
    private readonly backups: InstanceBackupsRepository,
    metrics: MetricsRegistry,
    @Inject(APP_CONFIG) private readonly config: OffsiteBackupEnv,
  ) {
    const name = 'backup_offsite_operations_total';
    this.operations =
      (metrics.registry.getSingleMetric(name) as Metric | undefined as
        Counter<'operation' | 'result'> | undefined) ??
      new Counter({
        name,
        help: 'Off-host backup copy operations (BACKUP_S3_*), by operation (upload, delete) and result (ok, failed)',
        labelNames: ['operation', 'result'],
        registers: [metrics.registry],
      });
  }

  get enabled(): boolean {
    return this.store !== null;
  }

  objectPrefix(instanceId: string, backupId: string): string {
    return `${this.config.BACKUP_S3_PREFIX}${instanceId}/${backupId}/`;
  }

  /** A backup just completed: its copy is due now (durably recorded before the job finishes). */
  async enqueue(backup: InstanceBackupEntity): Promise<void> {
    if (!this.store) return;
    await this.copies.enqueue(backup.instanceId, backup.id, this.objectPrefix(backup.instanceId, backup.id));
    this.kick();
  }

  /** These backups are going: their remote objects are deleted (recorded before the backup rows go). */
  async forget(backupIds: string[]): Promise<void> {
    await this.copies.forget(backupIds);
    if (backupIds.length > 0) this.kick();
  }

  async forgetInstance(instanceId: string): Promise<void> {
    await this.copies.forgetInstance(instanceId);
    this.kick();
  }

  /**
   * Puts the remote copy of `backup` back where its local files belong (streamed, checked against the recorded
   * sha256 and size before it replaces anything). False when there is no checked remote copy.
   */
  async fetchBack(backup: InstanceBackupEntity): Promise<boolean> {
    if (!this.store) return false;
    const copy = await this.copies.find(backup.id);
    if (copy?.state !== 'uploaded') return false;
    for (const file of filesOf(backup)) {
      await mkdir(dirname(file.path), { recursive: true, mode: 0o700 });
      const partial = `${file.path}.offsite-part`;
      const tap = new Sha256Tap();
      try {
        await pipeline(
          await this.store.get(`${copy.objectPrefix}${file.name}`),
          tap,
          createWriteStream(partial, { mode: 0o600 }),
        );
        const sha256 = tap.digest();
        if (sha256 !== file.sha256 || tap.size !== file.size) {
          throw new Error(
            `remote ${file.name} of backup ${backup.id}: sha256 ${sha256} (${tap.size} bytes) does not match ${file.sha256} (${file.size} bytes)`,
          );
        }
        await rename(partial, file.path);
      } finally {
        await rm(partial, { force: true });
      }
    }
    this.logger.log(`backup ${backup.id}: local files fetched back from the off-host copy`);
    return true;
  }

  onApplicationBootstrap(): void {
    if (this.store) this.schedule(0);
  }

  /** Before the database pool closes (shutdown hooks): in-flight uploads are cancelled and their rows released. */
  async onModuleDestroy(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    for (const controller of this.inFlight) controller.abort();
    await this.running;
    (this.store as { destroy?: () => void } | null)?.destroy?.();
  }

  /** Runs a pass soon (after a backup completed or was forgotten) instead of at the next interval. */
  kick(): void {
    if (!this.store || this.stopped) return;
    if (this.running) this.again = true;
    else this.schedule(0);
  }

  /** One pass over what is due (tests call it to step deterministically). */
  async drain(): Promise<number> {
    if (!this.store) return 0;
    await this.copies.enqueueMissing((instanceId, backupId) => this.objectPrefix(instanceId, backupId));
    await this.copies.forgetOrphans(ORPHAN_GRACE_SECONDS);
    let handled = 0;
    while (!this.stopped && handled < BATCH) {
      const claim = randomUUID();
      const copy = await this.copies.claimDue(claim, LEASE_SECONDS);
      if (!copy) break;
      handled += 1;
      await this.handle(this.store, copy, claim);
    }
    if (handled >= BATCH) this.again = true;
    return handled;
  }

  private schedule(delayMs: number): void {
    if (this.stopped) return;
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.pass(), delayMs);
    this.timer.unref();
  }

  private pass(): void {
    if (this.running || this.stopped) return;
    this.running = this.drain()
      .then(
        () => undefined,
        (error: unknown) => this.logger.warn(`off-host copy pass failed: ${message(error)}`),
      )
      .finally(() => {
        this.running = undefined;
        const next = this.again ? 0 : Math.min(this.config.BACKUP_S3_RETRY_SECONDS, 15) * 1000;
        this.again = false;
        this.schedule(next);
      });
  }

  private async handle(store: OffsiteBackupStore, copy: OffsiteCopy, claim: string): Promise<void> {
    try {
      if (copy.state === 'deleting') {
        for (const name of FILES) await store.delete(`${copy.objectPrefix}${name}`);
        await this.copies.removeDeleted(copy.backupId, claim);
        this.operations.inc({ operation: 'delete', result: 'ok' });
        this.logger.log(`backup ${copy.backupId}: off-host copy deleted`);
        return;
      }
      const backup = await this.backups.findById(copy.backupId);
      if (!backup || backup.status !== 'completed') {
        // Pruned or reset since it was enqueued: whatever reached the store goes.
        await this.copies.forget([copy.backupId]);
        await this.copies.release(copy.backupId, claim, null, 0);
        return;
      }
      await this.withLease(copy, claim, (signal) => this.upload(store, copy, backup, signal));
      this.operations.inc({ operation: 'upload', result: 'ok' });
      if (await this.copies.markUploaded(copy.backupId, claim)) {
        this.logger.log(`backup ${copy.backupId}: copied off-host (${copy.objectPrefix})`);
      } else {
        // Forgotten while it uploaded: release so the delete runs.
        await this.copies.release(copy.backupId, claim, null, 0);
      }
    } catch (error) {
      const retry = Math.min(
        this.config.BACKUP_S3_RETRY_SECONDS * 2 ** Math.min(copy.attempts - 1, 10),
        MAX_RETRY_SECONDS,
      );
      this.logger.warn(
        `backup ${copy.backupId}: off-host ${copy.state === 'deleting' ? 'delete' : 'copy'} failed (attempt ${copy.attempts}, retry in ${retry}s): ${message(error)}`,
      );
      this.operations.inc({ operation: copy.state === 'deleting' ? 'delete' : 'upload', result: 'failed' });
      await this.copies.release(copy.backupId, claim, message(error), retry);
    }
  }

  /** Both files up, each checked on the store before the next; throws on any difference. */
  private async upload(
    store: OffsiteBackupStore,
    copy: OffsiteCopy,
    backup: InstanceBackupEntity,
    signal: AbortSignal,
  ): Promise<void> {
    for (const file of filesOf(backup)) {
      const key = `${copy.objectPrefix}${file.name}`;
      const tap = new Sha256Tap();
      const source = createReadStream(file.path);
      const body = new PassThrough();
      const piping = pipeline(source, tap, body, { signal });
      const putting = store.put(key, body, file.sha256, signal).catch((error: unknown) => {
        body.destroy(error instanceof Error ? error : new Error(String(error)));
        throw error;
      });
      await Promise.all([putting, piping]);
      const sent = { sha256: tap.digest(), size: tap.size };
      if (sent.sha256 !== file.sha256 || sent.size !== file.size) {
        // The local file is not what was backed up: never leave it remote under the recorded checksum.
        await store.delete(key);
        throw new Error(
          `${file.path}: sha256 ${sent.sha256} (${sent.size} bytes) does not match the backup's ${file.sha256} (${file.size} bytes)`,
        );
      }
      const remote = await store.head(key);
      if (!remote || remote.size !== file.size || remote.sha256 !== file.sha256) {
        throw new Error(
          `${key}: the store holds ${remote ? `${remote.size} bytes, sha256 ${remote.sha256 ?? 'none'}` : 'nothing'} after the upload, expected ${file.size} bytes, sha256 ${file.sha256}`,
        );
      }
    }
  }

  /** Runs `work` while renewing the row's lease; aborted at shutdown. */
  private async withLease(
    copy: OffsiteCopy,
    claim: string,
    work: (signal: AbortSignal) => Promise<void>,
  ): Promise<void> {
    const controller = new AbortController();
    this.inFlight.add(controller);
    const renew = setInterval(
      () => {
        this.copies.renewLease(copy.backupId, claim, LEASE_SECONDS).then(
          (held) => {
            if (!held) controller.abort(new Error('lease lost'));
          },
          (error: unknown) =>
            this.logger.warn(`backup ${copy.backupId}: lease not renewed: ${message(error)}`),
        );
      },
      (LEASE_SECONDS * 1000) / 3,
    );
    try {
      await work(controller.signal);
    } finally {
      clearInterval(renew);
      this.inFlight.delete(controller);
    }
  }
}
