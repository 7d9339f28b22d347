import { MigrationInterface, QueryRunner } from 'typeorm';

export class CreateAccounts1764000000000 implements MigrationInterface {
  name = 'CreateAccounts1764000000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE TABLE users (
        id uuid PRIMARY KEY,
        email varchar(254) NOT NULL,
        password_hash varchar(255),
        first_name varchar(50) NOT NULL,
        last_name varchar(50) NOT NULL,
        phone varchar(16),
        company varchar(100),
        country varchar(50),
        timezone varchar(64),
        language varchar(10),
        role varchar(16) NOT NULL DEFAULT 'customer',
        is_active boolean NOT NULL DEFAULT true,
        is_verified boolean NOT NULL DEFAULT false,
        email_verified_at timestamptz,
        supabase_user_id uuid,
        marketing_consent boolean NOT NULL DEFAULT false,
        terms_accepted_at timestamptz,
        deactivated_at timestamptz,
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT users_email_normalised CHECK (email = lower(btrim(email))),
        CONSTRAINT users_role_known CHECK (role IN ('customer', 'admin')),
        CONSTRAINT users_has_credential CHECK (password_hash IS NOT NULL OR supabase_user_id IS NOT NULL)
      )`);
    await queryRunner.query(`CREATE UNIQUE INDEX users_email_key ON users (email)`);
    await queryRunner.query(
      `CREATE UNIQUE INDEX users_supabase_user_id_key ON users (supabase_user_id) WHERE supabase_user_id IS NOT NULL`,
    );
    await queryRunner.query(`CREATE INDEX users_created_at_idx ON users (created_at DESC, id)`);

    await queryRunner.query(`
      CREATE TABLE sessions (
        id uuid PRIMARY KEY,
        user_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
        remember_me boolean NOT NULL DEFAULT false,
        provider varchar(16) NOT NULL DEFAULT 'local',
        provider_refresh_token text,
        ip_address varchar(64),
        user_agent varchar(512),
        created_at timestamptz NOT NULL,
        expires_at timestamptz NOT NULL,
        last_refreshed_at timestamptz,
        revoked_at timestamptz,
        revoked_reason varchar(32),
        CONSTRAINT sessions_provider_known CHECK (provider IN ('local', 'supabase'))
      )`);
    await queryRunner.query(
      `CREATE INDEX sessions_user_live_idx ON sessions (user_id) WHERE revoked_at IS NULL`,
    );

    await queryRunner.query(`
      CREATE TABLE refresh_tokens (
        token_hash char(64) PRIMARY KEY,
        session_id uuid NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
        created_at timestamptz NOT NULL,
        rotated_at timestamptz
      )`);
    await queryRunner.query(`CREATE INDEX refresh_tokens_session_idx ON refresh_tokens (session_id)`);

    await queryRunner.query(`
      CREATE TABLE email_tokens (
        token_hash char(64) PRIMARY KEY,
        user_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
        purpose varchar(32) NOT NULL,
        created_at timestamptz NOT NULL,
        expires_at timestamptz NOT NULL,
        used_at timestamptz,
        CONSTRAINT email_tokens_purpose_known CHECK (purpose IN ('verify_email', 'password_reset'))
      )`);
    await queryRunner.query(`CREATE INDEX email_tokens_user_idx ON email_tokens (user_id, purpose)`);

    await queryRunner.query(`
      CREATE TABLE signing_keys (
        kid varchar(64) PRIMARY KEY,
        algorithm varchar(16) NOT NULL,
        public_jwk jsonb NOT NULL,
        private_jwk jsonb NOT NULL,
        created_at timestamptz NOT NULL,
        retired_at timestamptz
      )`);
    await queryRunner.query(
      `CREATE UNIQUE INDEX signing_keys_one_active ON signing_keys ((true)) WHERE retired_at IS NULL`,
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TABLE signing_keys`);
    await queryRunner.query(`DROP TABLE email_tokens`);
    await queryRunner.query(`DROP TABLE refresh_tokens`);
    await queryRunner.query(`DROP TABLE sessions`);
    await queryRunner.query(`DROP TABLE users`);
  }
}
