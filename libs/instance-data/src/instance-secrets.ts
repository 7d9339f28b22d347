import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { z } from 'zod';

/** Env piece of both instance apps: the AES-256-GCM key for secrets stored in the instance row. */
export const instanceSecretsEnv = z.object({
  INSTANCE_SECRETS_KEY: z
    .string()
    .refine((value) => Buffer.from(value, 'base64').length === 32 && /^[A-Za-z0-9+/]+={0,2}$/.test(value), {
      message: 'must be 32 random bytes, base64-encoded (openssl rand -base64 32)',
    }),
});
export type InstanceSecretsEnv = z.infer<typeof instanceSecretsEnv>;

/** Which secret a ciphertext holds; bound into the ciphertext so one cannot be swapped for another. */
export type InstanceSecretKind = 'admin_password' | 'db_password';

const FORMAT = 'v1';

export class InstanceSecretError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'InstanceSecretError';
  }
}

/**
 * AES-256-GCM for the two secrets the instance row carries: the Odoo admin password (until the worker
 * provisioned the instance) and the instance's database password. The instance id and the kind are the
 * additional authenticated data, so a ciphertext copied to another row or column fails to decrypt.
 * Format: `v1.<iv>.<tag>.<ciphertext>` (base64url).
 */
export class InstanceSecrets {
  private readonly key: Buffer;

  constructor(base64Key: string) {
    this.key = Buffer.from(base64Key, 'base64');
    if (this.key.length !== 32) throw new InstanceSecretError('INSTANCE_SECRETS_KEY must decode to 32 bytes');
  }

  encrypt(instanceId: string, kind: InstanceSecretKind, plaintext: string): string {
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.key, iv);
    cipher.setAAD(Buffer.from(`${instanceId}:${kind}`));
    const ciphertext = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
    return [FORMAT, iv, cipher.getAuthTag(), ciphertext]
      .map((p) => (typeof p === 'string' ? p : p.toString('base64url')))
      .join('.');
  }

  decrypt(instanceId: string, kind: InstanceSecretKind, sealed: string): string {
    const [format, iv, tag, ciphertext] = sealed.split('.');
    if (format !== FORMAT || iv === undefined || tag === undefined || ciphertext === undefined) {
      throw new InstanceSecretError(`unknown secret format for ${kind} of instance ${instanceId}`);
    }
    try {
      const decipher = createDecipheriv('aes-256-gcm', this.key, Buffer.from(iv, 'base64url'));
      decipher.setAAD(Buffer.from(`${instanceId}:${kind}`));
      decipher.setAuthTag(Buffer.from(tag, 'base64url'));
      return Buffer.concat([
        decipher.update(Buffer.from(ciphertext, 'base64url')),
        decipher.final(),
      ]).toString('utf8');
    } catch (error) {
      throw new InstanceSecretError(
        `cannot decrypt ${kind} of instance ${instanceId} (wrong INSTANCE_SECRETS_KEY?): ${
          error instanceof Error ? error.message : String(error)
        }`,
      );
    }
  }
}
