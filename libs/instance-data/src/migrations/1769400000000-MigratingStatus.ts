import { MigrationInterface, QueryRunner } from 'typeorm';
import { BACKUP_KINDS, INSTANCE_STATUSES } from '@app/contracts';

const list = (values: readonly string[]): string => values.map((v) => `'${v}'`).join(', ');

/**
 * Status `migrating` (an admin moves a local-volume instance to another swarm node) and backup kind
 * `pre_migrate` (the copy the move is made from). The checks are rebuilt from the lists in @app/contracts,
 * so they hold whatever other statuses or kinds those lists carry when this runs.
 */
export class MigratingStatus1769400000000 implements MigrationInterface {
  name = 'MigratingStatus1769400000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      ALTER TABLE instances
        DROP CONSTRAINT instances_status_known,
        DROP CONSTRAINT instances_previous_status_known,
        ADD CONSTRAINT instances_status_known CHECK (status IN (${list(INSTANCE_STATUSES)})),
        ADD CONSTRAINT instances_previous_status_known
          CHECK (previous_status IS NULL OR previous_status IN (${list(INSTANCE_STATUSES)}))`);
    await queryRunner.query(`
      ALTER TABLE instance_backups
        DROP CONSTRAINT instance_backups_kind_known,
        ADD CONSTRAINT instance_backups_kind_known CHECK (kind IN (${list(BACKUP_KINDS)}))`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    const statuses = INSTANCE_STATUSES.filter((s) => s !== 'migrating');
    const kinds = BACKUP_KINDS.filter((k) => k !== 'pre_migrate');
    await queryRunner.query(`UPDATE instances SET status = 'stopped' WHERE status = 'migrating'`);
    await queryRunner.query(`DELETE FROM instance_backups WHERE kind = 'pre_migrate'`);
    await queryRunner.query(`
      ALTER TABLE instances
        DROP CONSTRAINT instances_status_known,
        DROP CONSTRAINT instances_previous_status_known,
        ADD CONSTRAINT instances_status_known CHECK (status IN (${list(statuses)})),
        ADD CONSTRAINT instances_previous_status_known
          CHECK (previous_status IS NULL OR previous_status IN (${list(statuses)}))`);
    await queryRunner.query(`
      ALTER TABLE instance_backups
        DROP CONSTRAINT instance_backups_kind_known,
        ADD CONSTRAINT instance_backups_kind_known CHECK (kind IN (${list(kinds)}))`);
  }
}
