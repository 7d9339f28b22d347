import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Who holds an instance suspended (`billing`, `admin`, `customer`: each lifts only its own, and the instance
 * stays suspended while any holds it), and the storage the worker last measured (volume and database bytes,
 * when, and when the 90 % warning went out for the current crossing).
 */
export class SuspensionSourcesAndUsage1768000000000 implements MigrationInterface {
  name = 'SuspensionSourcesAndUsage1768000000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      ALTER TABLE instances
        ADD COLUMN suspension_sources text[] NOT NULL DEFAULT '{}',
        ADD COLUMN storage_bytes bigint,
        ADD COLUMN database_bytes bigint,
        ADD COLUMN usage_measured_at timestamptz,
        ADD COLUMN storage_warned_at timestamptz,
        ADD CONSTRAINT instances_suspension_sources_known
          CHECK (suspension_sources <@ ARRAY['billing', 'admin', 'customer']::text[])`);
    // Instances suspended before sources were recorded: billing did it unless a user asked.
    await queryRunner.query(`
      UPDATE instances i SET suspension_sources = ARRAY[
        CASE WHEN EXISTS (
          SELECT 1 FROM instance_events e
          WHERE e.instance_id = i.id AND e.action = 'suspend' AND e.generation = i.generation
        ) THEN 'customer' ELSE 'billing' END]
      WHERE i.desired_state = 'suspended'`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      ALTER TABLE instances
        DROP CONSTRAINT instances_suspension_sources_known,
        DROP COLUMN suspension_sources,
        DROP COLUMN storage_bytes,
        DROP COLUMN database_bytes,
        DROP COLUMN usage_measured_at,
        DROP COLUMN storage_warned_at`);
  }
}
