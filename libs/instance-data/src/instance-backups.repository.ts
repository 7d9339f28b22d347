import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { InstanceBackupEntity } from './instance-backup.entity';
import { MoreThanOrEqual } from 'typeorm';
import type { BackupKind, BackupManifest, BackupVerification } from './instance.types';

export interface BackupFileRecord {
  path: string;
  sha256: string;
  size: number;
}

/** Backup metadata rows. Files live under BACKUP_DIR on the worker's host; only the worker writes here. */
@Injectable()
export class InstanceBackupsRepository {
  constructor(private readonly dataSource: DataSource) {}

  private get repo() {
    return this.dataSource.getRepository(InstanceBackupEntity);
  }

  /** Newest first. */
  async listForInstance(
    instanceId: string,
    options: { limit?: number } = {},
  ): Promise<InstanceBackupEntity[]> {
    return this.repo.find({
      where: { instanceId },
      order: { createdAt: 'DESC', id: 'DESC' },
      take: options.limit ?? 100,
    });
  }

  async findForInstance(instanceId: string, backupId: string): Promise<InstanceBackupEntity | null> {
    return this.repo.findOne({ where: { id: backupId, instanceId } });
  }

  async findById(backupId: string): Promise<InstanceBackupEntity | null> {
    return this.repo.findOne({ where: { id: backupId } });
  }

  async findByJob(jobId: string): Promise<InstanceBackupEntity | null> {
    return this.repo.findOne({ where: { jobId } });
  }

  /** Starts (or, for a retried job, returns) the backup row of `jobId`. */
  async startForJob(input: {
    id: string;
    instanceId: string;
    kind: BackupKind;
    jobId: string;
    databaseName: string;
    odooVersion: string;
    image: string | null;
    requestedBy: string;
  }): Promise<InstanceBackupEntity> {
    await this.dataSource.query(
      `INSERT INTO instance_backups (id, instance_id, kind, status, job_id, database_name, odoo_version, image,
                                     requested_by, created_at)
       VALUES ($1, $2, $3, 'running', $4, $5, $6, $7, $8, now())
       ON CONFLICT (job_id) WHERE job_id IS NOT NULL DO NOTHING`,
      [
        input.id,
        input.instanceId,
        input.kind,
        input.jobId,
        input.databaseName,
        input.odooVersion,
        input.image,
        input.requestedBy,
      ],
    );
    const row = await this.findByJob(input.jobId);
    if (!row) throw new Error(`backup row for job ${input.jobId} vanished`);
    return row;
  }

  /** Restarts a running/failed row for another attempt of the same job. */
  async resetForRetry(id: string): Promise<void> {
    await this.repo.update(
      { id },
      {
        status: 'running',
        error: null,
        dbDumpPath: null,
        dbDumpSha256: null,
        dbDumpSize: null,
        filestorePath: null,
        filestoreSha256: null,
        filestoreSize: null,
        completedAt: null,
        manifest: null,
        verification: null,
        verifiedAt: null,
        verificationError: null,
      },
    );
  }

  /** Only after both files were re-read and matched their checksums. */
  async markCompleted(
    id: string,
    files: { dbDump: BackupFileRecord; filestore: BackupFileRecord },
    manifest: BackupManifest | null = null,
  ): Promise<InstanceBackupEntity> {
    await this.repo.update(
      { id },
      {
        status: 'completed',
        manifest,
        dbDumpPath: files.dbDump.path,
        dbDumpSha256: files.dbDump.sha256,
        dbDumpSize: files.dbDump.size,
        filestorePath: files.filestore.path,
        filestoreSha256: files.filestore.sha256,
        filestoreSize: files.filestore.size,
        completedAt: new Date(),
        error: null,
      },
    );
    const row = await this.repo.findOne({ where: { id } });
    if (!row) throw new Error(`backup ${id} vanished`);
    return row;
  }

  async markFailed(id: string, error: string): Promise<void> {
    await this.repo.update(
      { id },
      { status: 'failed', error: error.slice(0, 4000), completedAt: new Date() },
    );
  }

  /** Every backup of the instance, whatever its kind and status (what retention decides over). */
  async listAllForInstance(instanceId: string): Promise<InstanceBackupEntity[]> {
    return this.repo.find({ where: { instanceId }, order: { createdAt: 'DESC', id: 'DESC' } });
  }

  /** Backups of `kind` started since `since` (failed ones included: an attempt counts). */
  async countKindSince(instanceId: string, kind: BackupKind, since: Date): Promise<number> {
    return this.repo.count({ where: { instanceId, kind, createdAt: MoreThanOrEqual(since) } });
  }

  /** The newest backup of `kind` (any status), or null. */
  async newestOfKind(instanceId: string, kind: BackupKind): Promise<InstanceBackupEntity | null> {
    return this.repo.findOne({ where: { instanceId, kind }, order: { createdAt: 'DESC', id: 'DESC' } });
  }

  /**
   * Backups the sweep looks at: `running` ones started over `runningAfterSeconds` ago (their job may have died)
   * and `completed` ones never verified, completed over `unverifiedAfterSeconds` ago (a verification cut short).
   */
  async listUnsettled(
    runningAfterSeconds: number,
    unverifiedAfterSeconds: number,
  ): Promise<InstanceBackupEntity[]> {
    return this.repo
      .createQueryBuilder('b')
      .where(`b.status = 'running' AND b.created_at < now() - make_interval(secs => :running)`, {
        running: runningAfterSeconds,
      })
      .orWhere(
        `b.status = 'completed' AND b.verification IS NULL AND b.completed_at < now() - make_interval(secs => :unverified)`,
        { unverified: unverifiedAfterSeconds },
      )
      .orderBy('b.created_at', 'ASC')
      .limit(50)
      .getMany();
  }

  /** The result of the test restore; the status stays `completed` either way. */
  async recordVerification(id: string, result: BackupVerification, error: string | null): Promise<void> {
    await this.repo.update(
      { id, status: 'completed' },
      { verification: result, verifiedAt: new Date(), verificationError: error?.slice(0, 4000) ?? null },
    );
  }

  /** Failed backups (their partial files are removed with them). */
  async listFailed(instanceId: string): Promise<InstanceBackupEntity[]> {
    return this.repo.find({ where: { instanceId, status: 'failed' } });
  }

  async delete(id: string): Promise<void> {
    await this.repo.delete({ id });
  }

  async deleteAllForInstance(instanceId: string): Promise<void> {
    await this.repo.delete({ instanceId });
  }
}
