import { Injectable } from '@nestjs/common';
import { DataSource, EntityManager } from 'typeorm';
import { rowsOf } from '../common/sql';
import type { PaymentStatus, StartedPayment } from './payment-gateway';

export interface PaymentRow {
  id: string;
  tenantId: string;
  kbAccountId: string;
  invoiceId: string;
  amount: number;
  currency: string;
  method: string;
  phone: string | null;
  gateway: string;
  gatewayReference: string | null;
  gatewayStatus: string | null;
  pollUrl: string | null;
  redirectUrl: string | null;
  instructions: string | null;
  status: PaymentStatus;
  failureReason: string | null;
  createdBy: string | null;
  pollAttempts: number;
  expiresAt: Date;
  paidAt: Date | null;
  kbPaymentId: string | null;
  recordedAt: Date | null;
  createdAt: Date;
  updatedAt: Date;
}

export interface NewPayment {
  id: string;
  tenantId: string;
  kbAccountId: string;
  invoiceId: string;
  amount: number;
  currency: string;
  method: string;
  phone: string | null;
  gateway: string;
  gatewayReference: string | null;
  createdBy: string | null;
  expiresAt: Date;
}

const COLUMNS = `id, tenant_id AS "tenantId", kb_account_id AS "kbAccountId", invoice_id AS "invoiceId",
  amount::float8 AS amount, currency, method, phone, gateway, gateway_reference AS "gatewayReference",
  gateway_status AS "gatewayStatus", poll_url AS "pollUrl", redirect_url AS "redirectUrl", instructions, status,
  failure_reason AS "failureReason", created_by AS "createdBy", poll_attempts AS "pollAttempts",
  expires_at AS "expiresAt", paid_at AS "paidAt", kb_payment_id AS "kbPaymentId", recorded_at AS "recordedAt",
  created_at AS "createdAt", updated_at AS "updatedAt"`;

/** Payments in SQL. Status changes are compare-and-set on the current status, so two confirmations cannot both win. */
@Injectable()
export class PaymentsRepository {
  constructor(private readonly dataSource: DataSource) {}

  transaction<T>(work: (manager: EntityManager) => Promise<T>): Promise<T> {
    return this.dataSource.transaction(work);
  }

  async insert(payment: NewPayment, status: PaymentStatus, manager?: EntityManager): Promise<PaymentRow> {
    const [row] = rowsOf<PaymentRow>(
      await (manager ?? this.dataSource.manager).query(
        `INSERT INTO payments (id, tenant_id, kb_account_id, invoice_id, amount, currency, method, phone, gateway,
                               gateway_reference, created_by, expires_at, status, paid_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13::varchar, CASE WHEN $13::varchar = 'paid' THEN now() END)
         RETURNING ${COLUMNS}`,
        [
          payment.id,
          payment.tenantId,
          payment.kbAccountId,
          payment.invoiceId,
          payment.amount,
          payment.currency,
          payment.method,
          payment.phone,
          payment.gateway,
          payment.gatewayReference,
          payment.createdBy,
          payment.expiresAt,
          status,
        ],
      ),
    );
    return row;
  }

  async find(id: string): Promise<PaymentRow | null> {
    const [row] = rowsOf<PaymentRow>(
      await this.dataSource.query(`SELECT ${COLUMNS} FROM payments WHERE id = $1`, [id]),
    );
    return row ?? null;
  }

  async findPendingForInvoice(invoiceId: string): Promise<PaymentRow | null> {
    const [row] = rowsOf<PaymentRow>(
      await this.dataSource.query(
        `SELECT ${COLUMNS} FROM payments WHERE invoice_id = $1 AND status = 'pending'`,
        [invoiceId],
      ),
    );
    return row ?? null;
  }

  async findManual(reference: string): Promise<PaymentRow | null> {
    const [row] = rowsOf<PaymentRow>(
      await this.dataSource.query(
        `SELECT ${COLUMNS} FROM payments WHERE gateway = 'manual' AND gateway_reference = $1`,
        [reference],
      ),
    );
    return row ?? null;
  }

  async list(filter: { tenantIds?: string[]; status?: PaymentStatus }, limit = 200): Promise<PaymentRow[]> {
    return rowsOf<PaymentRow>(
      await this.dataSource.query(
        `SELECT ${COLUMNS} FROM payments
          WHERE ($1::uuid[] IS NULL OR tenant_id = ANY($1)) AND ($2::text IS NULL OR status = $2)
          ORDER BY created_at DESC, id LIMIT $3`,
        [filter.tenantIds ?? null, filter.status ?? null, limit],
      ),
    );
  }

  async markStarted(id: string, started: StartedPayment, firstPollAt: Date): Promise<PaymentRow> {
    const [row] = rowsOf<PaymentRow>(
      await this.dataSource.query(
        `UPDATE payments SET gateway_reference = $2, poll_url = $3, redirect_url = $4, instructions = $5,
                gateway_status = 'Sent', next_poll_at = $6, updated_at = now()
          WHERE id = $1 RETURNING ${COLUMNS}`,
        [
          id,
          started.gatewayReference,
          started.pollUrl,
          started.redirectUrl,
          started.instructions,
          firstPollAt,
        ],
      ),
    );
    return row;
  }

  /** pending|… → `to`, only if the status is still `from`. Returns the row when this call made the change. */
  async transition(
    manager: EntityManager,
    id: string,
    from: PaymentStatus,
    to: PaymentStatus,
    details: { gatewayStatus?: string; failureReason?: string | null },
  ): Promise<PaymentRow | null> {
    const [row] = rowsOf<PaymentRow>(
      await manager.query(
        `UPDATE payments SET status = $3::varchar, gateway_status = COALESCE($4::varchar, gateway_status),
                failure_reason = $5::text, paid_at = CASE WHEN $3::varchar = 'paid' THEN now() ELSE paid_at END,
                next_poll_at = NULL, updated_at = now()
          WHERE id = $1 AND status = $2::varchar RETURNING ${COLUMNS}`,
        [id, from, to, details.gatewayStatus ?? null, details.failureReason ?? null],
      ),
    );
    return row ?? null;
  }

  async noteGatewayStatus(id: string, gatewayStatus: string): Promise<void> {
    await this.dataSource.query(
      `UPDATE payments SET gateway_status = $2, updated_at = now() WHERE id = $1 AND gateway_status IS DISTINCT FROM $2`,
      [id, gatewayStatus],
    );
  }

  /** Claims pending payments whose poll is due, pushing their next poll out (the lease) with backoff. */
  async claimDuePolls(limit: number, minMs: number, maxMs: number): Promise<string[]> {
    const rows = rowsOf<{ id: string }>(
      await this.dataSource.query(
        `UPDATE payments AS p
            SET poll_attempts = p.poll_attempts + 1,
                next_poll_at = now() + make_interval(secs => LEAST($3::float8, $2::float8 * power(2, p.poll_attempts)) / 1000.0)
           FROM (SELECT id FROM payments
                  WHERE status = 'pending' AND poll_url IS NOT NULL AND next_poll_at <= now()
                  ORDER BY next_poll_at LIMIT $1 FOR UPDATE SKIP LOCKED) AS due
          WHERE p.id = due.id RETURNING p.id`,
        [limit, minMs, maxMs],
      ),
    );
    return rows.map((r) => r.id);
  }

  /** Payments whose start never got an answer (a crash between our insert and the gateway's reply). */
  async failInterruptedStarts(olderThanMs: number): Promise<PaymentRow[]> {
    return rowsOf<PaymentRow>(
      await this.dataSource.query(
        `UPDATE payments SET status = 'failed', failure_reason = 'the gateway never answered the start', updated_at = now()
          WHERE status = 'pending' AND poll_url IS NULL AND created_at < now() - make_interval(secs => $1 / 1000.0)
          RETURNING ${COLUMNS}`,
        [olderThanMs],
      ),
    );
  }

  async markRecorded(id: string, kbPaymentId: string | null): Promise<void> {
    await this.dataSource.query(
      `UPDATE payments SET kb_payment_id = $2, recorded_at = now(), updated_at = now() WHERE id = $1`,
      [id, kbPaymentId],
    );
  }
}
