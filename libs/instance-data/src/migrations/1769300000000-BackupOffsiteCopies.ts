import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Off-host copies of backups (issue #15, `BACKUP_S3_*`): one row per backup the worker copies to the
 * S3-compatible store. `pending` until the upload is done AND the remote objects were checked (size and the
 * sha256 kept in their metadata), then `uploaded`; `deleting` once the backup is pruned or purged, until its
 * remote objects are gone. No foreign key on purpose: the row outlives its backup while the objects are
 * deleted, so a failed delete is retried instead of leaving an orphan in the bucket. `lease_until`/`claim` let
 * exactly one worker act on a row at a time; a worker that dies mid-upload loses the lease and the next one
 * uploads again (an unfinished multipart upload is never an object).
 */
export class BackupOffsiteCopies1769300000000 implements MigrationInterface {
  name = 'BackupOffsiteCopies1769300000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE TABLE backup_offsite_copies (
        backup_id uuid PRIMARY KEY,
        instance_id uuid NOT NULL,
        state varchar(16) NOT NULL DEFAULT 'pending'
          CONSTRAINT backup_offsite_copies_state_known CHECK (state IN ('pending', 'uploaded', 'deleting')),
        object_prefix text NOT NULL,
        attempts integer NOT NULL DEFAULT 0,
        last_error text,
        next_attempt_at timestamptz NOT NULL DEFAULT now(),
        lease_until timestamptz,
        claim uuid,
        uploaded_at timestamptz,
        created_at timestamptz NOT NULL DEFAULT now()
      )`);
    await queryRunner.query(
      `CREATE INDEX backup_offsite_copies_due_idx ON backup_offsite_copies (next_attempt_at)
         WHERE state IN ('pending', 'deleting')`,
    );
    await queryRunner.query(
      `CREATE INDEX backup_offsite_copies_instance_idx ON backup_offsite_copies (instance_id)`,
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TABLE backup_offsite_copies`);
  }
}
