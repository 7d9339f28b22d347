import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';

export interface DivergenceSummary {
  /** Instances whose observed status is not what their desired state settles on (pending ones excepted). */
  count: number;
  /** How long the longest of them has gone without a status change, in seconds (0 when none). */
  oldestSeconds: number;
}

export interface InstanceBackupState {
  instanceId: string;
  /** Unix seconds of its newest completed (checksum-verified) backup, or of its start when it has none. */
  lastBackupOrStart: number;
}

/**
 * Read-only aggregates of the instance database for the operators' metrics (collected at scrape time, so
 * they are as true as the rows: nothing is counted twice or lost across restarts).
 */
@Injectable()
export class PlatformStateRepository {
  constructor(private readonly dataSource: DataSource) {}

  async statusCounts(): Promise<{ status: string; count: number }[]> {
    const rows = (await this.dataSource.query(
      `SELECT status, count(*)::int AS count FROM instances WHERE purged_at IS NULL GROUP BY status`,
    )) as { status: string; count: number }[];
    return rows;
  }

  /**
   * Desired `running|stopped|suspended|terminated` settles on the status of the same name. `pending` waits for
   * billing (payment, entitlement), which the billing alerts watch, so it does not count here.
   */
  async divergence(): Promise<DivergenceSummary> {
    const [row] = (await this.dataSource.query(
      `SELECT count(*)::int AS count,
              coalesce(max(extract(epoch FROM now() - coalesce(e.last_at, i.created_at))), 0)::float AS oldest
         FROM instances i
         LEFT JOIN LATERAL (SELECT max(created_at) AS last_at FROM instance_events WHERE instance_id = i.id) e ON true
        WHERE i.purged_at IS NULL AND i.status <> 'pending' AND i.status <> i.desired_state`,
    )) as { count: number; oldest: number }[];
    return { count: row?.count ?? 0, oldestSeconds: Math.round(row?.oldest ?? 0) };
  }

  /** Running instances (the ones that should have backups) and their newest completed backup. */
  async backupStateOfRunning(): Promise<InstanceBackupState[]> {
    const rows = (await this.dataSource.query(
      `SELECT i.id AS instance_id,
              extract(epoch FROM coalesce(max(b.completed_at), i.started_at, i.created_at))::float AS last_completed
         FROM instances i
         LEFT JOIN instance_backups b ON b.instance_id = i.id AND b.status = 'completed'
        WHERE i.purged_at IS NULL AND i.status = 'running'
        GROUP BY i.id`,
    )) as { instance_id: string; last_completed: number }[];
    return rows.map((r) => ({ instanceId: r.instance_id, lastBackupOrStart: r.last_completed }));
  }

  /** Backups that ended `failed` within the last `hours`. */
  async failedBackupsWithin(hours: number): Promise<number> {
    const [row] = (await this.dataSource.query(
      `SELECT count(*)::int AS n FROM instance_backups
        WHERE status = 'failed' AND coalesce(completed_at, created_at) > now() - make_interval(hours => $1)`,
      [hours],
    )) as { n: number }[];
    return row?.n ?? 0;
  }

  /** Completed backups whose test restore failed within the last `hours` (BackupVerificationFailed). */
  async failedVerificationsWithin(hours: number): Promise<number> {
    const [row] = (await this.dataSource.query(
      `SELECT count(*)::int AS n FROM instance_backups
        WHERE verification = 'failed' AND verified_at > now() - make_interval(hours => $1)`,
      [hours],
    )) as { n: number }[];
    return row?.n ?? 0;
  }

  /**
   * Seconds the oldest off-host copy still to upload has waited since its backup completed (0 when none waits:
   * every copy is up, or BACKUP_S3_* is off and there are none).
   */
  async oldestPendingOffsiteCopySeconds(): Promise<number> {
    const [row] = (await this.dataSource.query(
      `SELECT coalesce(extract(epoch FROM now() - min(created_at)), 0)::float8 AS s
         FROM backup_offsite_copies WHERE state = 'pending'`,
    )) as { s: number }[];
    return row?.s ?? 0;
  }

  /** Storage limits of the instances the worker has measured (their usage is instance_storage_bytes). */
  async measuredStorageLimits(): Promise<{ instanceId: string; storageLimit: string }[]> {
    const rows = (await this.dataSource.query(
      `SELECT id AS instance_id, storage_limit FROM instances WHERE purged_at IS NULL AND usage_measured_at IS NOT NULL`,
    )) as { instance_id: string; storage_limit: string }[];
    return rows.map((r) => ({ instanceId: r.instance_id, storageLimit: r.storage_limit }));
  }
}
