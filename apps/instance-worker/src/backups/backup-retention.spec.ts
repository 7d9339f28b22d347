import type { BackupKind, BackupStatus } from '@app/contracts';
import { DEFAULT_BACKUP_RETENTION as GFS } from '@app/tenancy';
import { expiredBackups, isoWeekKey, type RetainedBackup } from './backup-retention';

const DAY = 86_400_000;
const DEFAULT_BACKUP_RETENTION = { ...GFS, manualKeep: 5 };
const NOW = new Date('2026-12-04T12:00:00Z'); // a Friday

function backup(
  id: string,
  kind: BackupKind,
  daysAgo: number,
  status: BackupStatus = 'completed',
): RetainedBackup {
  return { id, kind, status, createdAt: new Date(NOW.getTime() - daysAgo * DAY) };
}

function dailyScheduled(days: number): RetainedBackup[] {
  return Array.from({ length: days }, (_, i) => backup(`s${i}`, 'scheduled', i));
}

const ids = (list: RetainedBackup[]) => list.map((b) => b.id).sort();

describe('expiredBackups (grandfather-father-son)', () => {
  it('keeps 7 daily, 4 weekly and 3 monthly scheduled backups out of 120 days of dailies', () => {
    const all = dailyScheduled(120);
    const expired = expiredBackups(all, DEFAULT_BACKUP_RETENTION, NOW);
    const kept = all.filter((b) => !expired.includes(b));
    // Dailies: 0..6 (Dec 4 back to Nov 28). Weekly (newest of each ISO week): W49 has s0 (Fri Dec 4), W48 s5
    // (Sun Nov 29), W47 s12 (Nov 22), W46 s19 (Nov 15). Monthly: Dec s0, Nov s4 (Nov 30), Oct s34 (Oct 31).
    expect(kept.map((b) => b.id)).toEqual(['s0', 's1', 's2', 's3', 's4', 's5', 's6', 's12', 's19', 's34']);
    expect(expired).toHaveLength(110);
    // Oldest first, so a crash half-way through deletes the oldest ones first.
    expect(expired[0]?.id).toBe('s119');
  });

  it('keeps only the newest backup of a day when several ran that day', () => {
    const all = [backup('a', 'scheduled', 0.1), backup('b', 'scheduled', 0.2), backup('c', 'scheduled', 1)];
    expect(ids(expiredBackups(all, { daily: 7, weekly: 0, monthly: 0, manualKeep: 5 }, NOW))).toEqual(['b']);
  });

  it('keeps the newest N manual backups apart from the scheduled ones', () => {
    const manual = Array.from({ length: 8 }, (_, i) => backup(`m${i}`, 'manual', i / 10));
    const scheduled = dailyScheduled(3);
    const expired = expiredBackups([...manual, ...scheduled], DEFAULT_BACKUP_RETENTION, NOW);
    // Five quick manual backups push out older manual ones only, never a scheduled one.
    expect(ids(expired)).toEqual(['m5', 'm6', 'm7']);
  });

  it('keeps pre_restore, pre_upgrade and pre_migrate backups 7 days, final ones and running ones always', () => {
    const all = [
      backup('pm-young', 'pre_migrate', 2),
      backup('pm-old', 'pre_migrate', 8),
      backup('pr-young', 'pre_restore', 6.9),
      backup('pr-old', 'pre_restore', 7.1),
      backup('pu-young', 'pre_upgrade', 1),
      backup('pu-old', 'pre_upgrade', 30),
      backup('final', 'final', 400),
      backup('running', 'scheduled', 500, 'running'),
      backup('newest', 'manual', 0),
    ];
    expect(ids(expiredBackups(all, DEFAULT_BACKUP_RETENTION, NOW)).sort()).toEqual([
      'pm-old',
      'pr-old',
      'pu-old',
    ]);
  });

  it('drops failed rows after 7 days and never counts them as kept backups', () => {
    const all = [
      backup('f-young', 'scheduled', 1, 'failed'),
      backup('f-old', 'manual', 8, 'failed'),
      ...dailyScheduled(2),
    ];
    expect(ids(expiredBackups(all, DEFAULT_BACKUP_RETENTION, NOW))).toEqual(['f-old']);
  });

  it('always keeps the newest completed backup, even one that the rules would let go', () => {
    const all = [backup('old-pre', 'pre_upgrade', 30)];
    expect(expiredBackups(all, DEFAULT_BACKUP_RETENTION, NOW)).toEqual([]);
  });

  it('numbers ISO weeks across a year boundary', () => {
    expect(isoWeekKey(new Date('2026-12-31T00:00:00Z'))).toBe('2026-W53');
    expect(isoWeekKey(new Date('2027-01-03T00:00:00Z'))).toBe('2026-W53');
    expect(isoWeekKey(new Date('2027-01-04T00:00:00Z'))).toBe('2027-W01');
    expect(isoWeekKey(new Date('2024-12-30T00:00:00Z'))).toBe('2025-W01');
  });
});
