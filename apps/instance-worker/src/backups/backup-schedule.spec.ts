import { isScheduledBackupDue, latestSlot, spreadOffsetMinutes } from './backup-schedule';

const ID = '6f1c3c1e-8d1e-4a57-9a0e-0d5f4f0b2a11';
const OTHER = '0b8a4e52-2a4c-4a43-8f5e-6b7c1d2e3f40';

describe('scheduled backups', () => {
  it('spreads instances over the window, the same way every time', () => {
    expect(spreadOffsetMinutes(ID, 240)).toBe(spreadOffsetMinutes(ID, 240));
    expect(spreadOffsetMinutes(ID, 240)).toBeLessThan(240);
    expect(spreadOffsetMinutes(ID, 240)).not.toBe(spreadOffsetMinutes(OTHER, 240));
    expect(spreadOffsetMinutes(ID, 0)).toBe(0);
  });

  it("takes today's slot once it has passed, yesterday's before", () => {
    const offset = spreadOffsetMinutes(ID, 240);
    const todaySlot = new Date(Date.UTC(2026, 11, 4, 1, 0) + offset * 60_000);
    expect(latestSlot(new Date(todaySlot.getTime() + 1), ID, '01:00', 240)).toEqual(todaySlot);
    expect(latestSlot(new Date(todaySlot.getTime() - 1), ID, '01:00', 240)).toEqual(
      new Date(todaySlot.getTime() - 86_400_000),
    );
    expect(latestSlot(todaySlot, ID, 'off', 240)).toBeNull();
  });

  it('is due once per slot, a new instance waits for its first slot, and a missed slot is caught up once', () => {
    const base = {
      instanceId: ID,
      instanceCreatedAt: new Date('2026-11-01T00:00:00Z'),
      schedule: '02:30',
      spreadMinutes: 0,
    };
    const now = new Date('2026-12-04T03:00:00Z');
    expect(isScheduledBackupDue({ ...base, now, lastScheduledAt: new Date('2026-12-03T02:31:00Z') })).toBe(
      true,
    );
    expect(isScheduledBackupDue({ ...base, now, lastScheduledAt: new Date('2026-12-04T02:31:00Z') })).toBe(
      false,
    );
    // Worker down for three days: one backup now, not three.
    expect(isScheduledBackupDue({ ...base, now, lastScheduledAt: new Date('2026-12-01T02:30:00Z') })).toBe(
      true,
    );
    expect(
      isScheduledBackupDue({
        ...base,
        now,
        instanceCreatedAt: new Date('2026-12-04T02:45:00Z'),
        lastScheduledAt: null,
      }),
    ).toBe(false);
    expect(isScheduledBackupDue({ ...base, now, schedule: 'off', lastScheduledAt: null })).toBe(false);
  });
});
