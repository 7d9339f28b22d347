import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * instance-service streams a validated import archive to the worker (PUT /imports/{instance_id}); the worker
 * accepts it only with this signature, made with the key both already share for download links
 * (BACKUP_DOWNLOAD_SECRET, see backupDownloadSecret) under its own label, so a download link can never be
 * replayed as an upload or the other way round.
 */
function mac(secret: string, instanceId: string, expires: number): string {
  return createHmac('sha256', secret).update(`import-upload:${instanceId}:${expires}`).digest('base64url');
}

export function signImportUpload(secret: string, instanceId: string, expires: number): string {
  return mac(secret, instanceId, expires);
}

/** Constant-time check of the signature, then of the expiry (unix seconds). */
export function checkImportUpload(
  secret: string,
  instanceId: string,
  expires: number,
  signature: string,
  now = Date.now(),
): 'valid' | 'expired' | 'invalid' {
  const expected = Buffer.from(mac(secret, instanceId, expires));
  const given = Buffer.from(signature);
  if (!Number.isInteger(expires) || given.length !== expected.length || !timingSafeEqual(given, expected))
    return 'invalid';
  return expires * 1000 < now ? 'expired' : 'valid';
}
