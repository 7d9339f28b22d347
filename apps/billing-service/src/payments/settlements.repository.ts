import { Injectable } from '@nestjs/common';
import { DataSource, EntityManager } from 'typeorm';
import { rowsOf } from '../common/sql';

export interface SettlementRow {
  paymentId: string;
  invoiceId: string;
  kbAccountId: string;
  amount: number;
  attempts: number;
}

/** The durable outbox of paid payments waiting to be recorded in Kill Bill (one row per payment). */
@Injectable()
export class SettlementsRepository {
  constructor(private readonly dataSource: DataSource) {}

  /** Written in the transaction that marks the payment paid; a second call for the payment does nothing. */
  async enqueue(
    manager: EntityManager,
    row: { paymentId: string; invoiceId: string; kbAccountId: string; amount: number },
  ): Promise<void> {
    await manager.query(
      `INSERT INTO payment_settlements (payment_id, invoice_id, kb_account_id, amount)
       VALUES ($1, $2, $3, $4) ON CONFLICT (payment_id) DO NOTHING`,
      [row.paymentId, row.invoiceId, row.kbAccountId, row.amount],
    );
  }

  /** Claims due rows (or one row, for a synchronous settle), under a lease. */
  async claim(limit: number, leaseMs: number, paymentId: string | null = null): Promise<SettlementRow[]> {
    return rowsOf<SettlementRow>(
      await this.dataSource.query(
        `UPDATE payment_settlements AS s
            SET status = 'processing', attempts = s.attempts + 1,
                locked_until = now() + make_interval(secs => $2 / 1000.0)
           FROM (SELECT payment_id FROM payment_settlements
                  WHERE ((status = 'pending' AND next_attempt_at <= now())
                      OR (status = 'processing' AND locked_until < now()))
                    AND ($3::uuid IS NULL OR payment_id = $3)
                  ORDER BY next_attempt_at LIMIT $1 FOR UPDATE SKIP LOCKED) AS due
          WHERE s.payment_id = due.payment_id
        RETURNING s.payment_id AS "paymentId", s.invoice_id AS "invoiceId", s.kb_account_id AS "kbAccountId",
                  s.amount::float8 AS amount, s.attempts`,
        [limit, leaseMs, paymentId],
      ),
    );
  }

  async done(paymentId: string, kbPaymentId: string | null, outcome: string): Promise<void> {
    await this.dataSource.query(
      `UPDATE payment_settlements SET status = 'done', kb_payment_id = $2, outcome = $3, done_at = now(),
              locked_until = NULL, last_error = NULL
        WHERE payment_id = $1`,
      [paymentId, kbPaymentId, outcome],
    );
  }

  async retry(paymentId: string, error: string, retryInMs: number): Promise<void> {
    await this.dataSource.query(
      `UPDATE payment_settlements SET status = 'pending', locked_until = NULL, last_error = $2,
              next_attempt_at = now() + make_interval(secs => $3 / 1000.0)
        WHERE payment_id = $1`,
      [paymentId, error.slice(0, 2000), retryInMs],
    );
  }

  /** Rows not yet recorded, and the age of the oldest (the outbox lag). */
  async lag(): Promise<{ pending: number; oldestSeconds: number }> {
    const [row] = (await this.dataSource.query(
      `SELECT count(*)::int AS pending,
              coalesce(extract(epoch FROM now() - min(created_at)), 0)::float8 AS "oldestSeconds"
         FROM payment_settlements WHERE status <> 'done'`,
    )) as { pending: number; oldestSeconds: number }[];
    return row ?? { pending: 0, oldestSeconds: 0 };
  }
}
