import type { BackupKind, BackupStatus } from '@app/contracts';
import type { BackupRetentionPolicy } from '@app/tenancy';

const DAY_MS = 86_400_000;

/** `pre_*` safety copies and failed attempts' rows are kept this long. */
export const SAFETY_BACKUP_KEEP_DAYS = 7;

export interface RetainedBackup {
  id: string;
  kind: BackupKind;
  status: BackupStatus;
  createdAt: Date;
}

function dayKey(date: Date): string {
  return date.toISOString().slice(0, 10);
}

/** ISO 8601 week (`2026-W49`): weeks start on Monday, week 1 holds the year's first Thursday. */
export function isoWeekKey(date: Date): string {
  const day = new Date(Date.UTC(date.getUTCFullYear(), date.getUTCMonth(), date.getUTCDate()));
  const weekday = day.getUTCDay() || 7;
  day.setUTCDate(day.getUTCDate() + 4 - weekday);
  const yearStart = Date.UTC(day.getUTCFullYear(), 0, 1);
  const week = Math.ceil(((day.getTime() - yearStart) / DAY_MS + 1) / 7);
  return `${day.getUTCFullYear()}-W${String(week).padStart(2, '0')}`;
}

function monthKey(date: Date): string {
  return date.toISOString().slice(0, 7);
}

/** The newest backup of each of the newest `count` buckets (restic's keep-daily/weekly/monthly). */
function newestPerBucket(newestFirst: RetainedBackup[], key: (d: Date) => string, count: number): string[] {
  const kept: string[] = [];
  const seen = new Set<string>();
  for (const backup of newestFirst) {
    if (seen.size >= count) break;
    const bucket = key(backup.createdAt);
    if (seen.has(bucket)) continue;
    seen.add(bucket);
    kept.push(backup.id);
  }
  return kept;
}

/**
 * The backups retention removes now (dates in UTC). Pure: the rules of issue #15, whatever else is there.
 * - `scheduled` (completed): grandfather-father-son per `policy`;
 * - `manual` (completed): the newest `manualKeep`;
 * - `pre_restore` / `pre_upgrade` / `pre_migrate` (completed): younger than 7 days;
 * - `final`: always (removed with everything else by the purge);
 * - `running`: always (a backup in progress);
 * - `failed`: the row for 7 days (its partial files are removed at once by the caller).
 * The newest completed backup of the instance is always kept, whatever its kind.
 */
export function expiredBackups(
  backups: readonly RetainedBackup[],
  policy: BackupRetentionPolicy & { manualKeep: number },
  now: Date,
): RetainedBackup[] {
  const newestFirst = [...backups].sort(
    (a, b) => b.createdAt.getTime() - a.createdAt.getTime() || (a.id < b.id ? 1 : -1),
  );
  const keep = new Set<string>();
  const completed = newestFirst.filter((b) => b.status === 'completed');
  if (completed[0]) keep.add(completed[0].id);
  const scheduled = completed.filter((b) => b.kind === 'scheduled');
  for (const id of [
    ...newestPerBucket(scheduled, dayKey, policy.daily),
    ...newestPerBucket(scheduled, isoWeekKey, policy.weekly),
    ...newestPerBucket(scheduled, monthKey, policy.monthly),
  ]) {
    keep.add(id);
  }
  for (const manual of completed.filter((b) => b.kind === 'manual').slice(0, policy.manualKeep))
    keep.add(manual.id);
  const safetyCutoff = now.getTime() - SAFETY_BACKUP_KEEP_DAYS * DAY_MS;
  for (const backup of newestFirst) {
    const young = backup.createdAt.getTime() > safetyCutoff;
    if (backup.status === 'running' || backup.kind === 'final') keep.add(backup.id);
    else if (backup.status === 'failed' && young) keep.add(backup.id);
    else if (backup.kind.startsWith('pre_') && young) keep.add(backup.id);
  }
  return newestFirst.filter((b) => !keep.has(b.id)).reverse();
}
