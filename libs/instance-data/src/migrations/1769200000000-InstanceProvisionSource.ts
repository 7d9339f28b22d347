import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * `provision_source`: where a new instance's data comes from when it is not a fresh Odoo database (an
 * imported Odoo zip, or another instance's backup for a staging copy); null for a normal creation.
 */
export class InstanceProvisionSource1769200000000 implements MigrationInterface {
  name = 'InstanceProvisionSource1769200000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE instances ADD COLUMN provision_source jsonb`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE instances DROP COLUMN provision_source`);
  }
}
