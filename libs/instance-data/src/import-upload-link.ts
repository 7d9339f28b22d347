import { checkLink, signLink, type BackupDownloadCheck } from './backup-download-link';

/**
 * instance-service streams a validated import archive to the worker (PUT /imports/{instance_id}); the worker
 * accepts it only with this signature, made with the key both already share for download links
 * (BACKUP_DOWNLOAD_SECRET, see backupDownloadSecret) under its own purpose, so a download link can never be
 * replayed as an upload or the other way round.
 */
export function signImportUpload(secret: string, instanceId: string, expires: number): string {
  return signLink('import-upload', secret, instanceId, expires);
}

/** Constant-time check of the signature, then of the expiry (unix seconds). */
export function checkImportUpload(
  secret: string,
  instanceId: string,
  expires: number,
  signature: string,
  now = Date.now(),
): BackupDownloadCheck {
  return checkLink('import-upload', secret, instanceId, expires, signature, now);
}
