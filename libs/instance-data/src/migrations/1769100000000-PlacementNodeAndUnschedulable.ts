import { MigrationInterface, QueryRunner } from 'typeorm';
import { INSTANCE_STATUSES } from '@app/contracts';

const list = (values: readonly string[]): string => values.map((v) => `'${v}'`).join(', ');
const BEFORE = INSTANCE_STATUSES.filter((status) => status !== 'unschedulable');

/**
 * `placement_node`: the swarm node that holds an instance's local volume (the instance is pinned there);
 * null on a single Docker host and with shared storage. Status `unschedulable`: the instance should run
 * but no eligible node can take it (its node is down or drained).
 */
export class PlacementNodeAndUnschedulable1769100000000 implements MigrationInterface {
  name = 'PlacementNodeAndUnschedulable1769100000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      ALTER TABLE instances
        ADD COLUMN placement_node varchar(64),
        DROP CONSTRAINT instances_status_known,
        DROP CONSTRAINT instances_previous_status_known,
        ADD CONSTRAINT instances_status_known CHECK (status IN (${list(INSTANCE_STATUSES)})),
        ADD CONSTRAINT instances_previous_status_known
          CHECK (previous_status IS NULL OR previous_status IN (${list(INSTANCE_STATUSES)}))`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`UPDATE instances SET status = 'stopped' WHERE status = 'unschedulable'`);
    await queryRunner.query(
      `UPDATE instances SET previous_status = 'stopped' WHERE previous_status = 'unschedulable'`,
    );
    await queryRunner.query(`
      ALTER TABLE instances
        DROP COLUMN placement_node,
        DROP CONSTRAINT instances_status_known,
        DROP CONSTRAINT instances_previous_status_known,
        ADD CONSTRAINT instances_status_known CHECK (status IN (${list(BEFORE)})),
        ADD CONSTRAINT instances_previous_status_known
          CHECK (previous_status IS NULL OR previous_status IN (${list(BEFORE)}))`);
  }
}
