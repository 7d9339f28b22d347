import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Payments (PayNow and operator-recorded), the inbox of PayNow status updates, the outbox that records paid
 * payments in Kill Bill exactly once, and the subscription's billing status (pay first on plans without trial).
 */
export class CreatePayments1766000000000 implements MigrationInterface {
  name = 'CreatePayments1766000000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE TABLE payments (
        id uuid PRIMARY KEY,
        tenant_id uuid NOT NULL,
        kb_account_id uuid NOT NULL,
        invoice_id uuid NOT NULL,
        amount numeric(14, 2) NOT NULL,
        currency char(3) NOT NULL,
        method varchar(16) NOT NULL,
        phone varchar(16),
        gateway varchar(16) NOT NULL,
        gateway_reference varchar(128),
        gateway_status varchar(32),
        poll_url text,
        redirect_url text,
        instructions text,
        status varchar(16) NOT NULL DEFAULT 'pending',
        failure_reason text,
        created_by uuid,
        poll_attempts integer NOT NULL DEFAULT 0,
        next_poll_at timestamptz,
        expires_at timestamptz NOT NULL,
        paid_at timestamptz,
        kb_payment_id uuid,
        recorded_at timestamptz,
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT payments_status_known
          CHECK (status IN ('pending', 'paid', 'cancelled', 'failed', 'refunded', 'disputed')),
        CONSTRAINT payments_amount_positive CHECK (amount > 0)
      )`);
    // One payment in flight per invoice: a second request cannot start a second charge.
    await queryRunner.query(
      `CREATE UNIQUE INDEX payments_one_pending_per_invoice ON payments (invoice_id) WHERE status = 'pending'`,
    );
    await queryRunner.query(
      `CREATE UNIQUE INDEX payments_manual_reference_key ON payments (gateway_reference) WHERE gateway = 'manual'`,
    );
    await queryRunner.query(`CREATE INDEX payments_tenant_idx ON payments (tenant_id, created_at DESC)`);
    await queryRunner.query(
      `CREATE INDEX payments_due_poll_idx ON payments (next_poll_at) WHERE status = 'pending'`,
    );

    await queryRunner.query(`
      CREATE TABLE paynow_inbox (
        id bigserial PRIMARY KEY,
        body_sha256 char(64) NOT NULL,
        body text NOT NULL,
        reference varchar(128),
        gateway_status varchar(32),
        duplicates integer NOT NULL DEFAULT 0,
        status varchar(16) NOT NULL DEFAULT 'pending',
        attempts integer NOT NULL DEFAULT 0,
        next_attempt_at timestamptz NOT NULL DEFAULT now(),
        locked_until timestamptz,
        outcome varchar(64),
        last_error text,
        received_at timestamptz NOT NULL DEFAULT now(),
        processed_at timestamptz,
        CONSTRAINT paynow_inbox_status_known
          CHECK (status IN ('pending', 'processing', 'processed', 'ignored', 'failed'))
      )`);
    await queryRunner.query(`CREATE UNIQUE INDEX paynow_inbox_body_sha256_key ON paynow_inbox (body_sha256)`);
    await queryRunner.query(
      `CREATE INDEX paynow_inbox_due_idx ON paynow_inbox (next_attempt_at, id) WHERE status IN ('pending', 'processing')`,
    );

    // One row per paid payment (the primary key is the exactly-once rule on our side; the paymentExternalKey is
    // the rule on Kill Bill's).
    await queryRunner.query(`
      CREATE TABLE payment_settlements (
        payment_id uuid PRIMARY KEY REFERENCES payments (id),
        invoice_id uuid NOT NULL,
        kb_account_id uuid NOT NULL,
        amount numeric(14, 2) NOT NULL,
        status varchar(16) NOT NULL DEFAULT 'pending',
        attempts integer NOT NULL DEFAULT 0,
        next_attempt_at timestamptz NOT NULL DEFAULT now(),
        locked_until timestamptz,
        kb_payment_id uuid,
        outcome varchar(64),
        last_error text,
        created_at timestamptz NOT NULL DEFAULT now(),
        done_at timestamptz,
        CONSTRAINT payment_settlements_status_known CHECK (status IN ('pending', 'processing', 'done'))
      )`);
    await queryRunner.query(
      `CREATE INDEX payment_settlements_due_idx ON payment_settlements (next_attempt_at) WHERE status <> 'done'`,
    );

    await queryRunner.query(`ALTER TABLE subscriptions ADD COLUMN billing_status varchar(32)`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE subscriptions DROP COLUMN IF EXISTS billing_status`);
    for (const table of ['payment_settlements', 'paynow_inbox', 'payments']) {
      await queryRunner.query(`DROP TABLE IF EXISTS ${table}`);
    }
  }
}
