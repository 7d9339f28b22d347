import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import type { JWK } from 'jose';
import { z } from 'zod';

/** The AES-256-GCM key that seals the signing keys' private halves in the database. */
export const signingKeysEncryptionEnv = z.object({
  SIGNING_KEYS_ENCRYPTION_KEY: z
    .string()
    .refine((value) => /^[A-Za-z0-9+/]+={0,2}$/.test(value) && Buffer.from(value, 'base64').length === 32, {
      message: 'must be 32 random bytes, base64-encoded (openssl rand -base64 32)',
    }),
});

const FORMAT = 'v1';

export class SigningKeySealError extends Error {
  constructor(kid: string, cause: unknown) {
    super(
      `cannot decrypt the private key of signing key ${kid} (sealed with another SIGNING_KEYS_ENCRYPTION_KEY?): ${
        cause instanceof Error ? cause.message : String(cause)
      }`,
    );
    this.name = 'SigningKeySealError';
  }
}

/**
 * Seals a signing key's private JWK with AES-256-GCM under SIGNING_KEYS_ENCRYPTION_KEY, so whoever reads the
 * database (a dump, a backup, a replica) cannot sign access tokens. The kid is the additional authenticated
 * data: a sealed key moved to another row does not open. Format: `v1.<iv>.<tag>.<ciphertext>` (base64url).
 */
export class SigningKeyCipher {
  private readonly key: Buffer;

  constructor(base64Key: string) {
    this.key = Buffer.from(base64Key, 'base64');
    if (this.key.length !== 32) throw new Error('SIGNING_KEYS_ENCRYPTION_KEY must decode to 32 bytes');
  }

  seal(kid: string, privateJwk: JWK): string {
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.key, iv);
    cipher.setAAD(Buffer.from(`signing-key:${kid}`));
    const ciphertext = Buffer.concat([cipher.update(JSON.stringify(privateJwk), 'utf8'), cipher.final()]);
    return [
      FORMAT,
      iv.toString('base64url'),
      cipher.getAuthTag().toString('base64url'),
      ciphertext.toString('base64url'),
    ].join('.');
  }

  open(kid: string, sealed: string): JWK {
    const [format, iv, tag, ciphertext] = sealed.split('.');
    try {
      if (format !== FORMAT || iv === undefined || tag === undefined || ciphertext === undefined) {
        throw new Error('unknown format');
      }
      const decipher = createDecipheriv('aes-256-gcm', this.key, Buffer.from(iv, 'base64url'));
      decipher.setAAD(Buffer.from(`signing-key:${kid}`));
      decipher.setAuthTag(Buffer.from(tag, 'base64url'));
      const plaintext = Buffer.concat([
        decipher.update(Buffer.from(ciphertext, 'base64url')),
        decipher.final(),
      ]);
      return JSON.parse(plaintext.toString('utf8')) as JWK;
    } catch (error) {
      throw new SigningKeySealError(kid, error);
    }
  }
}
