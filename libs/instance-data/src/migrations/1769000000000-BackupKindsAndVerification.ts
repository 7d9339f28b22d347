import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Backup kinds of issue #15 (`scheduled`, `manual`, `pre_restore`, `pre_upgrade`, `final`), the dump's manifest
 * (what a test restore must find again) and the result of that test restore (`verification`: `passed` or
 * `failed`, with its time and reason). A backup stays `completed` when its verification fails: its files are
 * intact (checksums), only the restore test did not pass.
 */
export class BackupKindsAndVerification1769000000000 implements MigrationInterface {
  name = 'BackupKindsAndVerification1769000000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      ALTER TABLE instance_backups
        DROP CONSTRAINT instance_backups_kind_known,
        ADD CONSTRAINT instance_backups_kind_known
          CHECK (kind IN ('scheduled', 'manual', 'pre_restore', 'pre_upgrade', 'final')),
        ADD COLUMN manifest jsonb,
        ADD COLUMN verification varchar(16),
        ADD COLUMN verified_at timestamptz,
        ADD COLUMN verification_error text,
        ADD CONSTRAINT instance_backups_verification_known
          CHECK (verification IS NULL OR verification IN ('passed', 'failed'))`);
    await queryRunner.query(
      `CREATE INDEX instance_backups_kind_idx ON instance_backups (instance_id, kind, created_at DESC)`,
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP INDEX instance_backups_kind_idx`);
    await queryRunner.query(`DELETE FROM instance_backups WHERE kind NOT IN ('manual', 'pre_upgrade')`);
    await queryRunner.query(`
      ALTER TABLE instance_backups
        DROP CONSTRAINT instance_backups_verification_known,
        DROP COLUMN manifest,
        DROP COLUMN verification,
        DROP COLUMN verified_at,
        DROP COLUMN verification_error,
        DROP CONSTRAINT instance_backups_kind_known,
        ADD CONSTRAINT instance_backups_kind_known CHECK (kind IN ('manual', 'pre_upgrade'))`);
  }
}
