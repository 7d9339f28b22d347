import { createHash } from 'node:crypto';

const MINUTE_MS = 60_000;
const DAY_MS = 86_400_000;

/** `HH:MM` (UTC) or `off`: BACKUP_SCHEDULE. */
export type BackupScheduleSetting = string;

/** Minutes after the window's start at which this instance backs up: stable per instance id. */
export function spreadOffsetMinutes(instanceId: string, spreadMinutes: number): number {
  if (spreadMinutes <= 0) return 0;
  const n = createHash('sha256').update(instanceId).digest().readUInt32BE(0);
  return n % spreadMinutes;
}

/**
 * The most recent daily slot of this instance at or before `now` (null when scheduling is off): the window's
 * start `HH:MM` UTC plus the instance's spread offset, today or else yesterday.
 */
export function latestSlot(
  now: Date,
  instanceId: string,
  schedule: BackupScheduleSetting,
  spreadMinutes: number,
): Date | null {
  const match = /^(\d{2}):(\d{2})$/.exec(schedule);
  if (!match) return null;
  const startOfDay = Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate());
  const offset =
    (Number(match[1]) * 60 + Number(match[2]) + spreadOffsetMinutes(instanceId, spreadMinutes)) * MINUTE_MS;
  let slot = startOfDay + offset;
  while (slot > now.getTime()) slot -= DAY_MS;
  return new Date(slot);
}

/**
 * Due when the latest slot has passed since the newest scheduled backup was started (or, with none yet, since
 * the instance was created: a new instance waits for its first slot). Derived from the rows only, so a
 * restarted worker loses no schedule and a slot missed while it was down is caught up once.
 */
export function isScheduledBackupDue(input: {
  now: Date;
  instanceId: string;
  instanceCreatedAt: Date;
  lastScheduledAt: Date | null;
  schedule: BackupScheduleSetting;
  spreadMinutes: number;
}): boolean {
  const slot = latestSlot(input.now, input.instanceId, input.schedule, input.spreadMinutes);
  if (!slot) return false;
  const since = input.lastScheduledAt ?? input.instanceCreatedAt;
  return since.getTime() < slot.getTime();
}
