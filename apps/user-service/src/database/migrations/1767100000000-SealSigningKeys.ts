import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Signing keys' private halves are stored sealed (AES-256-GCM under SIGNING_KEYS_ENCRYPTION_KEY) in
 * private_jwk_enc. Rows from before keep their plaintext private_jwk until user-service starts with the key
 * and seals them (SQL cannot: the key is not in the database); from then on private_jwk stays NULL.
 */
export class SealSigningKeys1767100000000 implements MigrationInterface {
  name = 'SealSigningKeys1767100000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE signing_keys ADD COLUMN private_jwk_enc text`);
    await queryRunner.query(`ALTER TABLE signing_keys ALTER COLUMN private_jwk DROP NOT NULL`);
    await queryRunner.query(
      `ALTER TABLE signing_keys ADD CONSTRAINT signing_keys_private_once
         CHECK ((private_jwk IS NULL) <> (private_jwk_enc IS NULL))`,
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DELETE FROM signing_keys WHERE private_jwk IS NULL`);
    await queryRunner.query(`ALTER TABLE signing_keys DROP CONSTRAINT signing_keys_private_once`);
    await queryRunner.query(`ALTER TABLE signing_keys ALTER COLUMN private_jwk SET NOT NULL`);
    await queryRunner.query(`ALTER TABLE signing_keys DROP COLUMN private_jwk_enc`);
  }
}
