import { ApiProperty } from '@nestjs/swagger';
import { Injectable } from '@nestjs/common';
import { createHash } from 'node:crypto';
import { DataSource } from 'typeorm';
import { rowsOf } from '../common/sql';
import { parseNotification } from './killbill-notification';

export type InboxStatus = (typeof INBOX_STATUSES)[number];

export interface InboxRow {
  id: string;
  body: string;
  bodySha256: string;
  attempts: number;
}

export interface StoreResult {
  stored: boolean;
  id: string;
}

export const INBOX_STATUSES = ['pending', 'processing', 'processed', 'ignored', 'failed'] as const;

export class InboxCounts {
  @ApiProperty({ type: 'integer' })
  total: number;
  @ApiProperty({ type: 'integer', description: 'Repeated deliveries acknowledged and dropped' })
  duplicates: number;
  @ApiProperty({
    type: 'object',
    properties: Object.fromEntries(INBOX_STATUSES.map((s) => [s, { type: 'integer' as const }])),
    required: [...INBOX_STATUSES],
  })
  byStatus: Record<InboxStatus, number>;
}

function truncate(value: string | null | undefined, max: number): string | null {
  return value ? value.slice(0, max) : null;
}

/**
 * The durable inbox of Kill Bill push notifications. A notification is stored once per distinct body (the
 * sha256 is unique); processing claims rows with FOR UPDATE SKIP LOCKED under a lease, so replicas never
 * process one twice at the same time and a crash after claiming only delays the row until the lease ends.
 */
@Injectable()
export class InboxRepository {
  constructor(private readonly dataSource: DataSource) {}

  static hash(body: Buffer | string): string {
    return createHash('sha256').update(body).digest('hex');
  }

  /**
   * Inserts raw bodies in one statement (one commit for the whole batch), or counts duplicates. Bodies repeated
   * inside the batch become one row. A duplicate of a row processed longer than `redeliverySeconds` ago is
   * made due again: Kill Bill sends identical bodies for distinct events when the body carries no state
   * (OVERDUE_CHANGE), and reprocessing is harmless (it re-reads Kill Bill). Returns, per body hash, whether
   * this batch inserted it.
   */
  async storeMany(
    items: { body: string; hash: string }[],
    redeliverySeconds: number,
  ): Promise<Map<string, StoreResult>> {
    const byHash = new Map<string, { body: string; repeats: number }>();
    for (const { body, hash } of items) {
      const seen = byHash.get(hash);
      if (seen) seen.repeats++;
      else byHash.set(hash, { body, repeats: 0 });
    }
    const columns: (string | null)[][] = [[], [], [], [], [], []];
    const repeats: number[] = [];
    for (const [hash, { body, repeats: n }] of byHash) {
      const notification = parseNotification(body);
      columns[0].push(hash);
      columns[1].push(body);
      columns[2].push(truncate(notification?.eventType, 64));
      columns[3].push(truncate(notification?.objectType, 64));
      columns[4].push(truncate(notification?.objectId, 64));
      columns[5].push(truncate(notification?.accountId, 64));
      repeats.push(n);
    }
    const rows = (await this.dataSource.query(
      `INSERT INTO killbill_inbox AS i (body_sha256, body, event_type, object_type, object_id, account_id, duplicates)
       SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::int[])
       ON CONFLICT (body_sha256) DO UPDATE SET
         duplicates = i.duplicates + EXCLUDED.duplicates + 1,
         status = CASE WHEN i.status IN ('processed', 'ignored', 'failed')
                        AND i.processed_at < now() - make_interval(secs => $8)
                       THEN 'pending' ELSE i.status END,
         attempts = CASE WHEN i.status IN ('processed', 'ignored', 'failed')
                          AND i.processed_at < now() - make_interval(secs => $8)
                         THEN 0 ELSE i.attempts END,
         next_attempt_at = CASE WHEN i.status IN ('processed', 'ignored', 'failed')
                                 AND i.processed_at < now() - make_interval(secs => $8)
                                THEN now() ELSE i.next_attempt_at END
       RETURNING id::text AS id, body_sha256 AS hash, (xmax = 0) AS inserted`,
      [...columns, repeats, redeliverySeconds],
    )) as { id: string; hash: string; inserted: boolean }[];
    return new Map(rows.map((row) => [row.hash, { id: row.id, stored: row.inserted }]));
  }

  /** Claims up to `limit` due rows (pending and due, or processing with an expired lease). */
  async claim(limit: number, leaseMs: number): Promise<InboxRow[]> {
    const raw: unknown = await this.dataSource.query(
      `UPDATE killbill_inbox AS i
          SET status = 'processing', attempts = i.attempts + 1,
              locked_until = now() + make_interval(secs => $2 / 1000.0)
         FROM (SELECT id FROM killbill_inbox
                WHERE (status = 'pending' AND next_attempt_at <= now())
                   OR (status = 'processing' AND locked_until < now())
                ORDER BY id
                LIMIT $1
                FOR UPDATE SKIP LOCKED) AS due
        WHERE i.id = due.id
      RETURNING i.id::text AS id, i.body, i.body_sha256 AS "bodySha256", i.attempts`,
      [limit, leaseMs],
    );
    return rowsOf<InboxRow>(raw);
  }

  /** Marks handled rows done, in one statement. */
  async finishMany(done: { id: string; status: 'processed' | 'ignored'; outcome: string }[]): Promise<void> {
    if (done.length === 0) return;
    await this.dataSource.query(
      `UPDATE killbill_inbox AS i
          SET status = d.status, outcome = d.outcome, processed_at = now(), locked_until = NULL, last_error = NULL
         FROM unnest($1::bigint[], $2::text[], $3::text[]) AS d(id, status, outcome)
        WHERE i.id = d.id`,
      [done.map((d) => d.id), done.map((d) => d.status), done.map((d) => d.outcome.slice(0, 64))],
    );
  }

  /** Schedules another attempt, or gives up (status failed) after the last one. */
  async fail(id: string, error: string, retryInMs: number | null): Promise<void> {
    await this.dataSource.query(
      `UPDATE killbill_inbox
          SET status = CASE WHEN $3::bigint IS NULL THEN 'failed' ELSE 'pending' END,
              next_attempt_at = CASE WHEN $3::bigint IS NULL THEN next_attempt_at
                                     ELSE now() + make_interval(secs => $3::bigint / 1000.0) END,
              processed_at = CASE WHEN $3::bigint IS NULL THEN now() ELSE NULL END,
              locked_until = NULL, last_error = $2
        WHERE id = $1`,
      [id, error.slice(0, 2000), retryInMs],
    );
  }

  async counts(): Promise<InboxCounts> {
    const rows = (await this.dataSource.query(
      `SELECT status, count(*)::int AS n, coalesce(sum(duplicates), 0)::int AS d
         FROM killbill_inbox GROUP BY status`,
    )) as { status: InboxStatus; n: number; d: number }[];
    const byStatus: Record<InboxStatus, number> = {
      pending: 0,
      processing: 0,
      processed: 0,
      ignored: 0,
      failed: 0,
    };
    let total = 0;
    let duplicates = 0;
    for (const row of rows) {
      byStatus[row.status] = row.n;
      total += row.n;
      duplicates += row.d;
    }
    return { total, duplicates, byStatus };
  }

  /** Puts failed rows back in the queue (admin). */
  async requeueFailed(): Promise<number> {
    const raw: unknown = await this.dataSource.query(
      `UPDATE killbill_inbox SET status = 'pending', attempts = 0, next_attempt_at = now(), processed_at = NULL
        WHERE status = 'failed' RETURNING id`,
    );
    return rowsOf<{ id: string }>(raw).length;
  }
}
