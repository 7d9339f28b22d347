import { MigrationInterface, QueryRunner } from 'typeorm';

/** The billing database: plan entitlements, the tenant ↔ Kill Bill account map, subscriptions per instance,
 *  the one-trial-per-tenant ledger, the push-notification inbox, the mail outbox and Kill Bill config hashes. */
export class CreateBilling1765000000000 implements MigrationInterface {
  name = 'CreateBilling1765000000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE TABLE plan_entitlements (
        id serial PRIMARY KEY,
        plan_name varchar(100) NOT NULL,
        effective_date timestamptz NOT NULL,
        cpu_limit numeric(4, 2) NOT NULL,
        memory_limit varchar(10) NOT NULL,
        storage_limit varchar(10) NOT NULL,
        description text,
        created_by varchar(100) NOT NULL DEFAULT 'system',
        created_at timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT plan_entitlements_plan_effective_key UNIQUE (plan_name, effective_date),
        CONSTRAINT plan_entitlements_cpu_positive CHECK (cpu_limit > 0),
        CONSTRAINT plan_entitlements_memory_format CHECK (memory_limit ~ '^[1-9][0-9]*[MG]$'),
        CONSTRAINT plan_entitlements_storage_format CHECK (storage_limit ~ '^[1-9][0-9]*[MGT]$')
      )`);
    await queryRunner.query(
      `CREATE INDEX plan_entitlements_lookup_idx ON plan_entitlements (plan_name, effective_date DESC)`,
    );
    // The original's plan_entitlements seed (reference/original-system.md §2.3).
    await queryRunner.query(`
      INSERT INTO plan_entitlements (plan_name, effective_date, cpu_limit, memory_limit, storage_limit, description)
      VALUES
        ('basic-immediate', '2024-01-01T00:00:00Z', 1.0, '2G', '10G', 'Basic, billed at once'),
        ('basic-monthly', '2024-01-01T00:00:00Z', 1.0, '2G', '10G', 'Basic, 14-day trial'),
        ('basic-test-trial', '2024-01-01T00:00:00Z', 1.0, '2G', '10G', 'Basic, 1-day trial (testing)'),
        ('standard-monthly', '2024-01-01T00:00:00Z', 2.0, '4G', '20G', 'Standard, 14-day trial'),
        ('premium-monthly', '2024-01-01T00:00:00Z', 4.0, '8G', '50G', 'Premium, 14-day trial')`);

    await queryRunner.query(`
      CREATE TABLE billing_accounts (
        tenant_id uuid PRIMARY KEY,
        kb_account_id uuid,
        contact_customer_id uuid,
        currency char(3) NOT NULL DEFAULT 'USD',
        overdue_state varchar(64),
        overdue_blocked boolean NOT NULL DEFAULT false,
        balance numeric(14, 2),
        synced_at timestamptz,
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now()
      )`);
    await queryRunner.query(
      `CREATE UNIQUE INDEX billing_accounts_kb_account_key ON billing_accounts (kb_account_id) WHERE kb_account_id IS NOT NULL`,
    );

    await queryRunner.query(`
      CREATE TABLE subscriptions (
        id uuid PRIMARY KEY,
        instance_id uuid NOT NULL,
        tenant_id uuid NOT NULL,
        created_by uuid,
        provider varchar(16) NOT NULL,
        kb_account_id uuid,
        kb_bundle_id uuid,
        plan_name varchar(100) NOT NULL,
        pending_plan_name varchar(100),
        phase_type varchar(16),
        kb_state varchar(16) NOT NULL DEFAULT 'ACTIVE',
        trial_ends_at timestamptz,
        charged_through_date date,
        cancel_effective_at timestamptz,
        entitlement varchar(16) NOT NULL DEFAULT 'pending',
        entitlement_version integer NOT NULL DEFAULT 0,
        entitlement_changed_at timestamptz,
        synced_at timestamptz,
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT subscriptions_provider_known CHECK (provider IN ('killbill', 'none')),
        CONSTRAINT subscriptions_entitlement_known
          CHECK (entitlement IN ('pending', 'running', 'suspended', 'terminated'))
      )`);
    await queryRunner.query(`CREATE UNIQUE INDEX subscriptions_instance_key ON subscriptions (instance_id)`);
    await queryRunner.query(`CREATE INDEX subscriptions_tenant_idx ON subscriptions (tenant_id, created_at)`);
    await queryRunner.query(
      `CREATE INDEX subscriptions_live_account_idx ON subscriptions (kb_account_id) WHERE entitlement <> 'terminated'`,
    );

    // One trial per tenant for life: the primary key is the whole rule, so two concurrent requests cannot both win.
    await queryRunner.query(`
      CREATE TABLE tenant_trials (
        tenant_id uuid PRIMARY KEY,
        instance_id uuid NOT NULL,
        plan_name varchar(100) NOT NULL,
        claimed_at timestamptz NOT NULL DEFAULT now()
      )`);

    await queryRunner.query(`
      CREATE TABLE killbill_inbox (
        id bigserial PRIMARY KEY,
        body_sha256 char(64) NOT NULL,
        body text NOT NULL,
        event_type varchar(64),
        object_type varchar(64),
        object_id varchar(64),
        account_id varchar(64),
        status varchar(16) NOT NULL DEFAULT 'pending',
        attempts integer NOT NULL DEFAULT 0,
        duplicates integer NOT NULL DEFAULT 0,
        next_attempt_at timestamptz NOT NULL DEFAULT now(),
        locked_until timestamptz,
        outcome varchar(64),
        last_error text,
        received_at timestamptz NOT NULL DEFAULT now(),
        processed_at timestamptz,
        CONSTRAINT killbill_inbox_status_known
          CHECK (status IN ('pending', 'processing', 'processed', 'ignored', 'failed'))
      )`);
    await queryRunner.query(
      `CREATE UNIQUE INDEX killbill_inbox_body_sha256_key ON killbill_inbox (body_sha256)`,
    );
    await queryRunner.query(
      `CREATE INDEX killbill_inbox_due_idx ON killbill_inbox (next_attempt_at, id) WHERE status IN ('pending', 'processing')`,
    );

    await queryRunner.query(`
      CREATE TABLE mail_outbox (
        id bigserial PRIMARY KEY,
        dedupe_key varchar(200) NOT NULL,
        template varchar(64) NOT NULL,
        tenant_id uuid,
        customer_id uuid,
        vars jsonb NOT NULL,
        status varchar(16) NOT NULL DEFAULT 'pending',
        attempts integer NOT NULL DEFAULT 0,
        next_attempt_at timestamptz NOT NULL DEFAULT now(),
        locked_until timestamptz,
        recipient varchar(254),
        last_error text,
        created_at timestamptz NOT NULL DEFAULT now(),
        sent_at timestamptz,
        CONSTRAINT mail_outbox_status_known CHECK (status IN ('pending', 'processing', 'sent', 'skipped', 'failed'))
      )`);
    await queryRunner.query(`CREATE UNIQUE INDEX mail_outbox_dedupe_key ON mail_outbox (dedupe_key)`);
    await queryRunner.query(
      `CREATE INDEX mail_outbox_due_idx ON mail_outbox (next_attempt_at, id) WHERE status IN ('pending', 'processing')`,
    );

    // What was last uploaded to which Kill Bill tenant, so a restart uploads only what changed.
    await queryRunner.query(`
      CREATE TABLE killbill_config (
        kb_api_key varchar(128) NOT NULL,
        name varchar(32) NOT NULL,
        sha256 char(64) NOT NULL,
        detail text,
        applied_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (kb_api_key, name)
      )`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    for (const table of [
      'killbill_config',
      'mail_outbox',
      'killbill_inbox',
      'tenant_trials',
      'subscriptions',
      'billing_accounts',
      'plan_entitlements',
    ]) {
      await queryRunner.query(`DROP TABLE IF EXISTS ${table}`);
    }
  }
}
