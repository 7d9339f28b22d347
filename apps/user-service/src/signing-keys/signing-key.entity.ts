import { Column, Entity, PrimaryColumn } from 'typeorm';
import type { JWK } from 'jose';

/** ES256 key pairs that sign access tokens. One is active (retired_at null); retired ones stay published a while. */
@Entity({ name: 'signing_keys' })
export class SigningKeyEntity {
  @PrimaryColumn({ type: 'varchar', length: 64 })
  kid: string;

  @Column({ type: 'varchar', length: 16 })
  algorithm: string;

  @Column({ name: 'public_jwk', type: 'jsonb' })
  publicJwk: JWK;

  /** Plaintext private JWK: only rows from before sealing, until the service seals them at start. */
  @Column({ name: 'private_jwk', type: 'jsonb', nullable: true })
  privateJwk: JWK | null;

  /** The private JWK sealed by SigningKeyCipher (SIGNING_KEYS_ENCRYPTION_KEY). */
  @Column({ name: 'private_jwk_enc', type: 'text', nullable: true })
  privateJwkEnc: string | null;

  @Column({ name: 'created_at', type: 'timestamptz' })
  createdAt: Date;

  @Column({ name: 'retired_at', type: 'timestamptz', nullable: true })
  retiredAt: Date | null;
}
