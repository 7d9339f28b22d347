/**
 * Backups (issue #15). `scheduled`: daily, kept by grandfather-father-son retention; `manual`: asked for by the
 * customer (capped per day, the newest N kept); `pre_restore` / `pre_upgrade`: the safety copy a restore or an
 * upgrade takes first (kept 7 days); `pre_migrate`: the copy a move to another node is made from (kept 7 days); `final`: taken at termination, kept until the purge.
 */
export const BACKUP_KINDS = [
  'scheduled',
  'manual',
  'pre_restore',
  'pre_upgrade',
  'final',
  'pre_migrate',
] as const;
export type BackupKind = (typeof BACKUP_KINDS)[number];

/** `completed` only once every file was re-read and matched its sha256. */
export const BACKUP_STATUSES = ['running', 'completed', 'failed'] as const;
export type BackupStatus = (typeof BACKUP_STATUSES)[number];

/** The test restore into a scratch database: `passed` (sanity query passed) or `failed`; null until it ran. */
export const BACKUP_VERIFICATIONS = ['passed', 'failed'] as const;
export type BackupVerification = (typeof BACKUP_VERIFICATIONS)[number];

/**
 * Where a completed backup is kept: `local` (BACKUP_DIR on the worker's host) and, with `BACKUP_S3_*` set,
 * `s3` once its off-host copy was uploaded and checked (size and sha256 of the remote objects).
 */
export const BACKUP_LOCATIONS = ['local', 's3'] as const;
export type BackupLocation = (typeof BACKUP_LOCATIONS)[number];
