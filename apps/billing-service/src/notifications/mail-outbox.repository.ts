import { Injectable } from '@nestjs/common';
import { DataSource, EntityManager } from 'typeorm';
import type { BillingMailTemplateName } from '@app/mail';
import { rowsOf } from '../common/sql';

export interface OutboxMail {
  dedupeKey: string;
  template: BillingMailTemplateName;
  tenantId: string | null;
  customerId: string | null;
  vars: Record<string, string>;
}

export interface OutboxRow {
  id: string;
  template: BillingMailTemplateName;
  tenantId: string | null;
  customerId: string | null;
  vars: Record<string, string>;
  attempts: number;
}

/**
 * Billing mail waiting to be sent. Written in the same transaction as the change it announces and keyed so
 * the same event never queues two messages; a dispatcher sends them with retries (SMTP or user-service down
 * delays a message, it does not lose it).
 */
@Injectable()
export class MailOutboxRepository {
  constructor(private readonly dataSource: DataSource) {}

  /** Queues the message unless one with the same key exists. True when queued now. */
  async enqueue(mail: OutboxMail, manager: EntityManager = this.dataSource.manager): Promise<boolean> {
    const rows = rowsOf<{ id: string }>(
      await manager.query(
        `INSERT INTO mail_outbox (dedupe_key, template, tenant_id, customer_id, vars)
         VALUES ($1, $2, $3, $4, $5::jsonb) ON CONFLICT (dedupe_key) DO NOTHING RETURNING id`,
        [
          mail.dedupeKey.slice(0, 200),
          mail.template,
          mail.tenantId,
          mail.customerId,
          JSON.stringify(mail.vars),
        ],
      ),
    );
    return rows.length > 0;
  }

  async claim(limit: number, leaseMs: number): Promise<OutboxRow[]> {
    return rowsOf<OutboxRow>(
      await this.dataSource.query(
        `UPDATE mail_outbox AS m
            SET status = 'processing', attempts = m.attempts + 1,
                locked_until = now() + make_interval(secs => $2 / 1000.0)
           FROM (SELECT id FROM mail_outbox
                  WHERE (status = 'pending' AND next_attempt_at <= now())
                     OR (status = 'processing' AND locked_until < now())
                  ORDER BY id LIMIT $1 FOR UPDATE SKIP LOCKED) AS due
          WHERE m.id = due.id
        RETURNING m.id::text AS id, m.template, m.tenant_id AS "tenantId", m.customer_id AS "customerId",
                  m.vars, m.attempts`,
        [limit, leaseMs],
      ),
    );
  }

  async finish(id: string, status: 'sent' | 'skipped', recipient: string | null, note: string | null) {
    await this.dataSource.query(
      `UPDATE mail_outbox SET status = $2, recipient = $3, last_error = $4, sent_at = now(), locked_until = NULL
        WHERE id = $1`,
      [id, status, recipient, note],
    );
  }

  async fail(id: string, error: string, retryInMs: number | null): Promise<void> {
    await this.dataSource.query(
      `UPDATE mail_outbox
          SET status = CASE WHEN $3::bigint IS NULL THEN 'failed' ELSE 'pending' END,
              next_attempt_at = CASE WHEN $3::bigint IS NULL THEN next_attempt_at
                                     ELSE now() + make_interval(secs => $3::bigint / 1000.0) END,
              locked_until = NULL, last_error = $2
        WHERE id = $1`,
      [id, error.slice(0, 2000), retryInMs],
    );
  }
}
