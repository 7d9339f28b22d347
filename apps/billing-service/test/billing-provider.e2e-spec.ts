/**
 * The billing provider port is chosen once at boot from BILLING_PROVIDER: Kill Bill (its bootstrap runs in the
 * background until ready) or `none` (nothing to bootstrap, BILLING_DISABLED where Kill Bill is needed).
 */
import { KillBillEmulator } from '../../../libs/testing/src/killbill-emulator';
import { BillingProvider } from '../src/billing-provider/billing-provider';
import { KillBillBillingProvider } from '../src/billing-provider/killbill.billing-provider';
import { NoneBillingProvider } from '../src/billing-provider/none.billing-provider';
import type { SubscriptionEntity } from '../src/records/subscription.entity';
import {
  billingEnv,
  BillingUnderTest,
  freePort,
  resetBillingDatabase,
  startBilling,
  waitFor,
} from './support/billing-harness';

describe('BillingProvider chosen at boot', () => {
  const kb = new KillBillEmulator({ clockMode: 'frozen', initialTime: '2025-03-01T10:00:00Z' });
  let callbackPort: number;
  let billing: BillingUnderTest | undefined;

  beforeAll(async () => {
    await resetBillingDatabase();
    await kb.start();
    callbackPort = await freePort();
  });
  afterEach(async () => {
    await billing?.close();
    billing = undefined;
  });
  afterAll(async () => {
    await kb.stop();
  });

  it('BILLING_PROVIDER=killbill: the Kill Bill provider, whose bootstrap completes in the background', async () => {
    billing = await startBilling(billingEnv({ killbillUrl: kb.url, callbackPort }), callbackPort);
    const provider = billing.harness.app.get(BillingProvider);
    expect(provider).toBeInstanceOf(KillBillBillingProvider);
    expect(provider.name).toBe('killbill');
    expect(provider.reconciles).toBe(true);
    // Changes of a subscription Kill Bill holds go through it; one made without an engine changes locally.
    expect(provider.manages({ provider: 'killbill' } as SubscriptionEntity)).toBe(true);
    expect(provider.manages({ provider: 'none' } as SubscriptionEntity)).toBe(false);
    let refused: unknown;
    try {
      provider.requireManaged({ provider: 'none' } as SubscriptionEntity);
    } catch (error) {
      refused = error;
    }
    expect(refused).toMatchObject({ code: 'BILLING_DISABLED' });
    await waitFor(() => provider.bootstrapStatus().status === 'ready', 'Kill Bill bootstrap ready');
    expect(await provider.health()).toMatchObject({ provider: 'killbill' });
  });

  it('BILLING_PROVIDER=none: the none provider, no bootstrap, admin bootstrap refused with BILLING_DISABLED', async () => {
    billing = await startBilling(
      billingEnv({ killbillUrl: kb.url, callbackPort, overrides: { BILLING_PROVIDER: 'none' } }),
      callbackPort,
    );
    const provider = billing.harness.app.get(BillingProvider);
    expect(provider).toBeInstanceOf(NoneBillingProvider);
    expect(provider.reconciles).toBe(false);
    expect(provider.manages({ provider: 'none' } as SubscriptionEntity)).toBe(false);
    expect(provider.bootstrapStatus().status).toBe('disabled');
    await expect(provider.bootstrap()).rejects.toMatchObject({ code: 'BILLING_DISABLED' });
    expect(await provider.catalog()).toBeNull();
  });
});
