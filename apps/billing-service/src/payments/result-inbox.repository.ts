import { Injectable } from '@nestjs/common';
import { createHash } from 'node:crypto';
import { DataSource } from 'typeorm';
import { rowsOf } from '../common/sql';

export interface ResultInboxRow {
  id: string;
  body: string;
  reference: string | null;
  attempts: number;
}

/**
 * PayNow status updates, stored raw before they are answered. One row per distinct body (PayNow repeats the
 * same update; a repeat only bumps `duplicates`). Claimed with SKIP LOCKED under a lease, like the Kill Bill inbox.
 */
@Injectable()
export class ResultInboxRepository {
  constructor(private readonly dataSource: DataSource) {}

  /**
   * Stores a batch in one statement (one commit). Rows are inserted in body_sha256 order: batches in flight at
   * the same time that share bodies (PayNow's repeats) then lock them in one order and cannot deadlock (in
   * arrival order, two batches holding each other's repeat deadlocked, and after deadlock_timeout one of them
   * failed: its requests answered 503 and the other's waited a second).
   */
  async storeMany(items: { body: string; reference: string; gatewayStatus: string }[]): Promise<void> {
    const byHash = new Map<
      string,
      { body: string; reference: string; gatewayStatus: string; repeats: number }
    >();
    for (const item of items) {
      const hash = createHash('sha256').update(item.body).digest('hex');
      const seen = byHash.get(hash);
      if (seen) seen.repeats++;
      else byHash.set(hash, { ...item, repeats: 0 });
    }
    const entries = [...byHash.entries()];
    await this.dataSource.query(
      `INSERT INTO paynow_inbox AS i (body_sha256, body, reference, gateway_status, duplicates)
       SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::int[]) ORDER BY 1
       ON CONFLICT (body_sha256) DO UPDATE SET duplicates = i.duplicates + EXCLUDED.duplicates + 1`,
      [
        entries.map(([hash]) => hash),
        entries.map(([, e]) => e.body),
        entries.map(([, e]) => e.reference.slice(0, 128)),
        entries.map(([, e]) => e.gatewayStatus.slice(0, 32)),
        entries.map(([, e]) => e.repeats),
      ],
    );
  }

  async claim(limit: number, leaseMs: number): Promise<ResultInboxRow[]> {
    return rowsOf<ResultInboxRow>(
      await this.dataSource.query(
        `UPDATE paynow_inbox AS i
            SET status = 'processing', attempts = i.attempts + 1,
                locked_until = now() + make_interval(secs => $2 / 1000.0)
           FROM (SELECT id FROM paynow_inbox
                  WHERE (status = 'pending' AND next_attempt_at <= now())
                     OR (status = 'processing' AND locked_until < now())
                  ORDER BY id LIMIT $1 FOR UPDATE SKIP LOCKED) AS due
          WHERE i.id = due.id
        RETURNING i.id::text AS id, i.body, i.reference, i.attempts`,
        [limit, leaseMs],
      ),
    );
  }

  async finish(id: string, status: 'processed' | 'ignored', outcome: string): Promise<void> {
    await this.dataSource.query(
      `UPDATE paynow_inbox SET status = $2, outcome = $3, processed_at = now(), locked_until = NULL, last_error = NULL
        WHERE id = $1`,
      [id, status, outcome.slice(0, 64)],
    );
  }

  async fail(id: string, error: string, retryInMs: number | null): Promise<void> {
    await this.dataSource.query(
      `UPDATE paynow_inbox
          SET status = CASE WHEN $3::bigint IS NULL THEN 'failed' ELSE 'pending' END,
              next_attempt_at = CASE WHEN $3::bigint IS NULL THEN next_attempt_at
                                     ELSE now() + make_interval(secs => $3::bigint / 1000.0) END,
              processed_at = CASE WHEN $3::bigint IS NULL THEN now() ELSE NULL END,
              locked_until = NULL, last_error = $2
        WHERE id = $1`,
      [id, error.slice(0, 2000), retryInMs],
    );
  }
}
