import { createHmac, timingSafeEqual } from 'node:crypto';
import { z } from 'zod';

/**
 * Env piece of both instance apps: the HMAC key of backup download links (instance-service signs, the worker,
 * which holds the files, verifies). start:local's first .env gets a random one (scripts/env-file.sh); tests get
 * a built-in value; elsewhere downloads answer 503 while it is unset.
 */
export const backupDownloadEnv = z.object({
  BACKUP_DOWNLOAD_SECRET: z
    .string()
    .optional()
    .transform((value) => value || undefined)
    .refine((value) => value === undefined || value.length >= 32, {
      message: 'must be at least 32 characters (openssl rand -hex 32)',
    }),
});
export type BackupDownloadEnv = z.infer<typeof backupDownloadEnv>;

const TEST_ONLY_SECRET = 'backup-download-secret-for-tests-only-never-in-production';

/** The configured key; the test value under NODE_ENV=test; null when downloads are not configured. */
export function backupDownloadSecret(config: {
  BACKUP_DOWNLOAD_SECRET?: string;
  NODE_ENV?: string;
}): string | null {
  if (config.BACKUP_DOWNLOAD_SECRET) return config.BACKUP_DOWNLOAD_SECRET;
  return (config.NODE_ENV ?? process.env.NODE_ENV) === 'test' ? TEST_ONLY_SECRET : null;
}

/** The purpose a signature is bound to, so one kind of link can never be replayed as another. */
export type SignedLinkPurpose = 'backup-download' | 'import-upload';

function mac(purpose: SignedLinkPurpose, secret: string, id: string, expires: number): string {
  return createHmac('sha256', secret).update(`${purpose}:${id}:${expires}`).digest('base64url');
}

/** Signature of a link for `purpose` on `id` valid until `expires` (unix seconds). */
export function signLink(purpose: SignedLinkPurpose, secret: string, id: string, expires: number): string {
  return mac(purpose, secret, id, expires);
}

export type BackupDownloadCheck = 'valid' | 'expired' | 'invalid';

/** Constant-time check of a link's signature, then of its expiry. */
export function checkLink(
  purpose: SignedLinkPurpose,
  secret: string,
  id: string,
  expires: number,
  signature: string,
  now = Date.now(),
): BackupDownloadCheck {
  const expected = Buffer.from(mac(purpose, secret, id, expires));
  const given = Buffer.from(signature);
  if (!Number.isInteger(expires) || given.length !== expected.length || !timingSafeEqual(given, expected))
    return 'invalid';
  return expires * 1000 < now ? 'expired' : 'valid';
}

/** Signature of a link to `backupId` valid until `expires` (unix seconds). */
export function signBackupDownload(secret: string, backupId: string, expires: number): string {
  return signLink('backup-download', secret, backupId, expires);
}

export function checkBackupDownload(
  secret: string,
  backupId: string,
  expires: number,
  signature: string,
  now = Date.now(),
): BackupDownloadCheck {
  return checkLink('backup-download', secret, backupId, expires, signature, now);
}
