import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Spare Odoo databases the worker prepares ahead of demand (a role and a database initialised by
 * `odoo -i base`), so a new instance adopts one instead of waiting for `CREATE DATABASE` and the init run.
 * The row is written before anything is created, so a spare interrupted while being made is found and
 * removed; `claimed` rows belong to the instance that is adopting them.
 */
export class CreateOdooSpares1767000000000 implements MigrationInterface {
  name = 'CreateOdooSpares1767000000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE TABLE odoo_spares (
        id uuid PRIMARY KEY,
        odoo_version varchar(8) NOT NULL,
        image varchar(255) NOT NULL,
        database_name varchar(63) NOT NULL UNIQUE,
        db_role varchar(63) NOT NULL UNIQUE,
        db_password_enc text NOT NULL,
        state varchar(16) NOT NULL,
        -- Whether the init run left an Odoo schema (an image that does not use the database leaves none).
        odoo_schema boolean NOT NULL DEFAULT false,
        instance_id uuid UNIQUE,
        created_at timestamptz NOT NULL DEFAULT now(),
        ready_at timestamptz,
        claimed_at timestamptz,
        CONSTRAINT odoo_spares_state_known CHECK (state IN ('creating', 'ready', 'claimed')),
        CONSTRAINT odoo_spares_claim_consistent CHECK ((state = 'claimed') = (instance_id IS NOT NULL))
      )`);
    await queryRunner.query(
      `CREATE INDEX odoo_spares_ready_idx ON odoo_spares (image, ready_at) WHERE state = 'ready'`,
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TABLE odoo_spares`);
  }
}
