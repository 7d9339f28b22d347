import { MigrationInterface, QueryRunner } from 'typeorm';
import { DESIRED_STATES, INSTANCE_STATUSES } from '@app/contracts';

const list = (values: readonly string[]): string => values.map((v) => `'${v}'`).join(', ');

export class CreateInstanceTables1766000000000 implements MigrationInterface {
  name = 'CreateInstanceTables1766000000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE TABLE instances (
        id uuid PRIMARY KEY,
        tenant_id uuid NOT NULL,
        customer_id uuid NOT NULL,
        name varchar(100) NOT NULL,
        description varchar(500),
        odoo_version varchar(8) NOT NULL,
        instance_type varchar(16) NOT NULL,
        cpu_limit numeric(5, 2) NOT NULL,
        memory_limit varchar(16) NOT NULL,
        storage_limit varchar(16) NOT NULL,
        admin_email varchar(254) NOT NULL,
        admin_password_hash text NOT NULL,
        admin_password_enc text,
        demo_data boolean NOT NULL DEFAULT false,
        database_name varchar(63) NOT NULL,
        subdomain varchar(63),
        custom_addons json NOT NULL DEFAULT '[]',
        disabled_modules json NOT NULL DEFAULT '[]',
        environment_vars json NOT NULL DEFAULT '{}',
        metadata json NOT NULL DEFAULT '{}',
        plan_name varchar(64),
        status varchar(24) NOT NULL,
        desired_state varchar(16) NOT NULL,
        previous_status varchar(24),
        generation integer NOT NULL DEFAULT 0,
        applied_generation integer NOT NULL DEFAULT 0,
        desired_job_id varchar(100),
        pending_operation jsonb,
        status_reason text,
        last_error text,
        image varchar(255),
        container_id varchar(64),
        container_name varchar(128),
        volume_name varchar(128),
        network_name varchar(128),
        host_port integer,
        internal_url varchar(255),
        external_url varchar(255),
        db_role varchar(63),
        db_password_enc text,
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now(),
        started_at timestamptz,
        stopped_at timestamptz,
        terminated_at timestamptz,
        purge_after timestamptz,
        purged_at timestamptz,
        CONSTRAINT instances_status_known CHECK (status IN (${list(INSTANCE_STATUSES)})),
        CONSTRAINT instances_previous_status_known CHECK (previous_status IS NULL OR previous_status IN (${list(INSTANCE_STATUSES)})),
        CONSTRAINT instances_desired_state_known CHECK (desired_state IN (${list(DESIRED_STATES)})),
        CONSTRAINT instances_odoo_version_known CHECK (odoo_version IN ('16.0', '17.0', '18.0')),
        CONSTRAINT instances_type_known CHECK (instance_type IN ('development', 'staging', 'production')),
        CONSTRAINT instances_cpu_positive CHECK (cpu_limit > 0),
        CONSTRAINT instances_memory_format CHECK (memory_limit ~ '^[1-9][0-9]*[MG]$'),
        CONSTRAINT instances_storage_format CHECK (storage_limit ~ '^[1-9][0-9]*[MG]$'),
        CONSTRAINT instances_generation_order CHECK (applied_generation <= generation),
        CONSTRAINT instances_json_shapes CHECK (
          json_typeof(custom_addons) = 'array' AND json_typeof(disabled_modules) = 'array'
          AND json_typeof(environment_vars) = 'object' AND json_typeof(metadata) = 'object'
        )
      )`);
    // Subdomains are free again once terminated (the stopped container is not routed); database names are
    // held until the purge dropped the Postgres database, because Postgres names are cluster-wide.
    await queryRunner.query(
      `CREATE UNIQUE INDEX instances_subdomain_live_key ON instances (subdomain)
        WHERE status <> 'terminated' AND subdomain IS NOT NULL`,
    );
    await queryRunner.query(
      `CREATE UNIQUE INDEX instances_database_name_held_key ON instances (database_name) WHERE purged_at IS NULL`,
    );
    await queryRunner.query(
      `CREATE INDEX instances_tenant_created_idx ON instances (tenant_id, created_at DESC, id)`,
    );
    await queryRunner.query(`CREATE INDEX instances_customer_idx ON instances (customer_id)`);
    await queryRunner.query(`CREATE INDEX instances_status_idx ON instances (status)`);

    await queryRunner.query(`
      CREATE TABLE instance_events (
        id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        instance_id uuid NOT NULL REFERENCES instances (id) ON DELETE CASCADE,
        from_status varchar(24),
        to_status varchar(24) NOT NULL,
        desired_state varchar(16) NOT NULL,
        action varchar(32),
        actor varchar(200) NOT NULL,
        reason text,
        job_id varchar(100),
        generation integer NOT NULL,
        created_at timestamptz NOT NULL DEFAULT clock_timestamp()
      )`);
    await queryRunner.query(`CREATE INDEX instance_events_instance_idx ON instance_events (instance_id, id)`);

    await queryRunner.query(`
      CREATE TABLE instance_backups (
        id uuid PRIMARY KEY,
        instance_id uuid NOT NULL REFERENCES instances (id) ON DELETE CASCADE,
        kind varchar(16) NOT NULL,
        status varchar(16) NOT NULL,
        job_id varchar(100),
        database_name varchar(63) NOT NULL,
        db_dump_path text,
        db_dump_sha256 char(64),
        db_dump_size bigint,
        filestore_path text,
        filestore_sha256 char(64),
        filestore_size bigint,
        odoo_version varchar(8) NOT NULL,
        image varchar(255),
        requested_by varchar(200) NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        completed_at timestamptz,
        error text,
        CONSTRAINT instance_backups_kind_known CHECK (kind IN ('manual', 'pre_upgrade')),
        CONSTRAINT instance_backups_status_known CHECK (status IN ('running', 'completed', 'failed')),
        CONSTRAINT instance_backups_completed_verified CHECK (
          status <> 'completed' OR (db_dump_sha256 IS NOT NULL AND filestore_sha256 IS NOT NULL
            AND db_dump_size IS NOT NULL AND filestore_size IS NOT NULL AND completed_at IS NOT NULL)
        )
      )`);
    await queryRunner.query(
      `CREATE UNIQUE INDEX instance_backups_job_key ON instance_backups (job_id) WHERE job_id IS NOT NULL`,
    );
    await queryRunner.query(
      `CREATE INDEX instance_backups_instance_idx ON instance_backups (instance_id, created_at DESC)`,
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TABLE instance_backups`);
    await queryRunner.query(`DROP TABLE instance_events`);
    await queryRunner.query(`DROP TABLE instances`);
  }
}
