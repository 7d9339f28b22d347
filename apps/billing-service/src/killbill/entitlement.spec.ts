import type { KbSubscription } from './killbill.types';
import { entitlementOf, snapshotOf } from './entitlement';

const clear = { isDisableEntitlementAndChangesBlocked: false };
const blocked = { isDisableEntitlementAndChangesBlocked: true };

function subscription(overrides: Partial<KbSubscription>): KbSubscription {
  return {
    accountId: 'a',
    bundleId: 'b',
    subscriptionId: 's',
    planName: 'basic-monthly',
    state: 'ACTIVE',
    phaseType: 'TRIAL',
    events: [],
    ...overrides,
  };
}

describe('entitlementOf: Kill Bill state → what the instance may do', () => {
  it.each([
    ['ACTIVE', clear, 'running'],
    ['ACTIVE', null, 'running'],
    ['ACTIVE', blocked, 'suspended'],
    ['BLOCKED', clear, 'suspended'],
    ['CANCELLED', clear, 'terminated'],
    ['CANCELLED', blocked, 'terminated'],
    ['EXPIRED', clear, 'terminated'],
    ['PENDING', clear, null],
  ] as const)('%s with overdue %j → %s', (state, overdue, expected) => {
    expect(entitlementOf({ state }, overdue)).toBe(expected);
  });
});

describe('snapshotOf', () => {
  it('takes the trial end from the PHASE event while in trial, and keeps no pending change or cancel', () => {
    const snap = snapshotOf(
      subscription({
        events: [
          {
            eventType: 'START_ENTITLEMENT',
            effectiveDate: '2025-03-01T10:00:00.000Z',
            plan: 'basic-monthly',
          },
          { eventType: 'PHASE', effectiveDate: '2025-03-15T10:00:00.000Z', plan: 'basic-monthly' },
        ],
      }),
    );
    expect(snap).toMatchObject({
      planName: 'basic-monthly',
      pendingPlanName: null,
      phaseType: 'TRIAL',
      kbState: 'ACTIVE',
      cancelEffectiveAt: null,
    });
    expect(snap.trialEndsAt?.toISOString()).toBe('2025-03-15T10:00:00.000Z');
  });

  it('sees a pending plan change and a pending cancellation', () => {
    const snap = snapshotOf(
      subscription({
        phaseType: 'EVERGREEN',
        cancelledDate: '2025-05-01T00:00:00.000Z',
        events: [
          { eventType: 'CHANGE', effectiveDate: '2025-04-01T00:00:00.000Z', plan: 'basic-monthly' },
          { eventType: 'CHANGE', effectiveDate: '2025-05-01T00:00:00.000Z', plan: 'premium-monthly' },
        ],
      }),
    );
    expect(snap.pendingPlanName).toBe('premium-monthly');
    expect(snap.trialEndsAt).toBeNull();
    expect(snap.cancelEffectiveAt?.toISOString()).toBe('2025-05-01T00:00:00.000Z');
  });

  it('has no pending change once the change is effective', () => {
    const snap = snapshotOf(
      subscription({
        planName: 'premium-monthly',
        events: [{ eventType: 'CHANGE', effectiveDate: '2025-05-01T00:00:00.000Z', plan: 'premium-monthly' }],
      }),
    );
    expect(snap.pendingPlanName).toBeNull();
  });
});
