import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';

export type OffsiteCopyState = 'pending' | 'uploaded' | 'deleting';

/** One backup's copy in the off-host store (`backup_offsite_copies`). */
export interface OffsiteCopy {
  backupId: string;
  instanceId: string;
  state: OffsiteCopyState;
  /** Object keys are `<object_prefix><file name>`. */
  objectPrefix: string;
  attempts: number;
  lastError: string | null;
  uploadedAt: Date | null;
  /** Set while a worker holds the row (see `claimDue`). */
  claim: string | null;
}

interface OffsiteCopyRow {
  backup_id: string;
  instance_id: string;
  state: OffsiteCopyState;
  object_prefix: string;
  attempts: number;
  last_error: string | null;
  uploaded_at: Date | null;
  claim: string | null;
}

/** TypeORM's Postgres driver answers `[rows, rowCount]` for UPDATE/DELETE, `rows` for the rest. */
function rowsOf<T>(raw: unknown): T[] {
  if (Array.isArray(raw) && raw.length === 2 && Array.isArray(raw[0]) && typeof raw[1] === 'number') {
    return raw[0] as T[];
  }
  return raw as T[];
}

function toCopy(row: OffsiteCopyRow): OffsiteCopy {
  return {
    backupId: row.backup_id,
    instanceId: row.instance_id,
    state: row.state,
    objectPrefix: row.object_prefix,
    attempts: row.attempts,
    lastError: row.last_error,
    uploadedAt: row.uploaded_at,
    claim: row.claim,
  };
}

/**
 * Off-host copies of backups. Only the worker writes (enqueue, claim, finish, forget); instance-service reads
 * `uploadedAt` for the backup listing. A row is acted on by one worker at a time: `claimDue` takes a lease
 * with a fresh claim id, and every finishing write checks that claim, so a worker whose lease ran out (it
 * died, or hung) can no longer mark anything.
 */
@Injectable()
export class BackupOffsiteCopiesRepository {
  constructor(private readonly dataSource: DataSource) {}

  /**
   * Every completed backup without a copy row gets one (`pending`): the backup job's own enqueue and a
   * catch-up for backups completed while the store was unreachable, before it was configured, or by a worker
   * that died between the two writes.
   */
  async enqueueMissing(objectPrefixOf: (instanceId: string, backupId: string) => string): Promise<number> {
    const missing = await this.dataSource.query<{ id: string; instance_id: string }[]>(
      `SELECT b.id, b.instance_id FROM instance_backups b
        WHERE b.status = 'completed'
          AND NOT EXISTS (SELECT 1 FROM backup_offsite_copies c WHERE c.backup_id = b.id)
        ORDER BY b.completed_at
        LIMIT 200`,
    );
    for (const row of missing)
      await this.enqueue(row.instance_id, row.id, objectPrefixOf(row.instance_id, row.id));
    return missing.length;
  }

  async enqueue(instanceId: string, backupId: string, objectPrefix: string): Promise<void> {
    await this.dataSource.query(
      `INSERT INTO backup_offsite_copies (backup_id, instance_id, object_prefix)
       VALUES ($1, $2, $3) ON CONFLICT (backup_id) DO NOTHING`,
      [backupId, instanceId, objectPrefix],
    );
  }

  /** Takes the lease on the most overdue pending or deleting row nobody holds; null when none is due. */
  async claimDue(claim: string, leaseSeconds: number): Promise<OffsiteCopy | null> {
    const rows: unknown = await this.dataSource.query(
      `UPDATE backup_offsite_copies
          SET lease_until = now() + make_interval(secs => $2), claim = $1, attempts = attempts + 1
        WHERE backup_id = (
          SELECT backup_id FROM backup_offsite_copies
           WHERE state IN ('pending', 'deleting') AND next_attempt_at <= now()
             AND (lease_until IS NULL OR lease_until < now())
           ORDER BY next_attempt_at
           LIMIT 1
           FOR UPDATE SKIP LOCKED)
        RETURNING *`,
      [claim, leaseSeconds],
    );
    const row = rowsOf<OffsiteCopyRow>(rows)[0];
    return row ? toCopy(row) : null;
  }

  /** Keeps the lease while a long upload runs; false when it was lost (another worker may act now). */
  async renewLease(backupId: string, claim: string, leaseSeconds: number): Promise<boolean> {
    const rows: unknown = await this.dataSource.query(
      `UPDATE backup_offsite_copies SET lease_until = now() + make_interval(secs => $3)
        WHERE backup_id = $1 AND claim = $2 RETURNING backup_id`,
      [backupId, claim, leaseSeconds],
    );
    return rowsOf(rows).length > 0;
  }

  /** Only a pending copy still held under `claim` becomes `uploaded` (a forgotten one stays `deleting`). */
  async markUploaded(backupId: string, claim: string): Promise<boolean> {
    const rows: unknown = await this.dataSource.query(
      `UPDATE backup_offsite_copies
          SET state = 'uploaded', uploaded_at = now(), last_error = NULL, lease_until = NULL, claim = NULL
        WHERE backup_id = $1 AND claim = $2 AND state = 'pending' RETURNING backup_id`,
      [backupId, claim],
    );
    return rowsOf(rows).length > 0;
  }

  /** Lets go of the row; the next attempt is due after `retryAfterSeconds` (0: at once). */
  async release(
    backupId: string,
    claim: string,
    error: string | null,
    retryAfterSeconds: number,
  ): Promise<void> {
    await this.dataSource.query(
      `UPDATE backup_offsite_copies
          SET lease_until = NULL, claim = NULL, last_error = $3,
              next_attempt_at = now() + make_interval(secs => $4)
        WHERE backup_id = $1 AND claim = $2`,
      [backupId, claim, error?.slice(0, 2000) ?? null, retryAfterSeconds],
    );
  }

  /** The remote objects are gone: the row goes (only while still `deleting` under `claim`). */
  async removeDeleted(backupId: string, claim: string): Promise<void> {
    await this.dataSource.query(
      `DELETE FROM backup_offsite_copies WHERE backup_id = $1 AND claim = $2 AND state = 'deleting'`,
      [backupId, claim],
    );
  }

  /**
   * The backups were pruned or purged: their remote objects are to be deleted (before the backup rows go, so
   * nothing is forgotten if the worker dies in between). Whatever the state, even mid-upload.
   */
  async forget(backupIds: string[]): Promise<void> {
    if (backupIds.length === 0) return;
    await this.dataSource.query(
      `UPDATE backup_offsite_copies SET state = 'deleting', next_attempt_at = now(), attempts = 0
        WHERE backup_id = ANY($1::uuid[])`,
      [backupIds],
    );
  }

  /**
   * Copies whose backup row is gone without a `forget` (a prune racing the copy's catch-up, a row deleted by
   * hand): their objects are deleted too. Only rows older than `graceSeconds`, nobody holds.
   */
  async forgetOrphans(graceSeconds: number): Promise<number> {
    const rows: unknown = await this.dataSource.query(
      `UPDATE backup_offsite_copies c SET state = 'deleting', next_attempt_at = now(), attempts = 0
        WHERE c.state IN ('pending', 'uploaded')
          AND c.created_at < now() - make_interval(secs => $1)
          AND (c.lease_until IS NULL OR c.lease_until < now())
          AND NOT EXISTS (SELECT 1 FROM instance_backups b WHERE b.id = c.backup_id)
        RETURNING c.backup_id`,
      [graceSeconds],
    );
    return rowsOf(rows).length;
  }

  async forgetInstance(instanceId: string): Promise<void> {
    await this.dataSource.query(
      `UPDATE backup_offsite_copies SET state = 'deleting', next_attempt_at = now(), attempts = 0
        WHERE instance_id = $1`,
      [instanceId],
    );
  }

  async find(backupId: string): Promise<OffsiteCopy | null> {
    const rows = await this.dataSource.query<OffsiteCopyRow[]>(
      `SELECT * FROM backup_offsite_copies WHERE backup_id = $1`,
      [backupId],
    );
    return rows[0] ? toCopy(rows[0]) : null;
  }

  /** When each of these backups' remote copy was made and checked (only `uploaded` ones). */
  async uploadedAt(backupIds: string[]): Promise<Map<string, Date>> {
    if (backupIds.length === 0) return new Map();
    const rows = await this.dataSource.query<{ backup_id: string; uploaded_at: Date }[]>(
      `SELECT backup_id, uploaded_at FROM backup_offsite_copies
        WHERE backup_id = ANY($1::uuid[]) AND state = 'uploaded'`,
      [backupIds],
    );
    return new Map(rows.map((r) => [r.backup_id, r.uploaded_at]));
  }
}
