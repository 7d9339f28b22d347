/**
 * The PayNow result endpoint under a burst (issue #12's bench:payments, made small): the inbox's batch inserts
 * never deadlock on PayNow's repeats, and confirming the stored updates waits while the burst goes on, then
 * catches up by itself. Real billing-service and Postgres; PayNow, Kill Bill and the other services are the
 * test doubles of payments-world.
 */
import { randomUUID } from 'node:crypto';
import { signedPaynowForm } from '../../../libs/testing/src/paynow-emulator';
import { PAYNOW_RESULT_PATH } from '../src/config/env';
import { ResultInboxProcessor } from '../src/payments/result-inbox.processor';
import { ResultInboxRepository } from '../src/payments/result-inbox.repository';
import { waitFor } from './support/billing-harness';
import { PaymentsWorld, startPaymentsWorld, stopPaymentsWorld } from './support/payments-world';

describe('PayNow result endpoint under a burst', () => {
  let world: PaymentsWorld;

  beforeAll(async () => {
    world = await startPaymentsWorld();
  }, 60_000);
  afterAll(() => stopPaymentsWorld(world));

  /** A signed status update for a payment we never started (processing ignores it: unknown_reference). */
  const unknownUpdate = () =>
    signedPaynowForm(
      [
        ['reference', randomUUID()],
        ['amount', '5.00'],
        ['paynowreference', String(Math.floor(Math.random() * 1e9))],
        ['pollurl', `${world.paynow.url}/Interface/CheckPayment/?guid=${randomUUID()}`],
        ['status', 'Paid'],
      ],
      world.paynow.integrationKey,
    );

  const inboxStatuses = async (bodies: string[]) =>
    (
      (await world.billing.dataSource.query(`SELECT status FROM paynow_inbox WHERE body = ANY($1::text[])`, [
        bodies,
      ])) as { status: string }[]
    ).map((r) => r.status);

  it('batches sharing repeated updates in opposite orders are all stored, none deadlocks (one row each)', async () => {
    const inbox = world.billing.harness.app.get(ResultInboxRepository);
    for (let round = 0; round < 10; round++) {
      const items = Array.from({ length: 200 }, () => {
        const body = unknownUpdate();
        return { body, reference: new URLSearchParams(body).get('reference') ?? '', gatewayStatus: 'Paid' };
      });
      // In arrival order these two met in the middle, each waiting for the other's uncommitted insert, until
      // Postgres killed one after deadlock_timeout (its requests answered 503).
      const results = await Promise.allSettled([
        inbox.storeMany(items),
        inbox.storeMany([...items].reverse()),
      ]);
      expect(results.map((r) => (r.status === 'rejected' ? String(r.reason) : r.status))).toEqual([
        'fulfilled',
        'fulfilled',
      ]);
      const rows = (await world.billing.dataSource.query(
        `SELECT duplicates FROM paynow_inbox WHERE body = ANY($1::text[])`,
        [items.map((i) => i.body)],
      )) as { duplicates: number }[];
      expect(rows).toHaveLength(200);
      expect(rows.every((r) => r.duplicates === 1)).toBe(true);
    }
    // Confirmed (ignored) now, so that the next test starts with an idle processor.
    await world.billing.harness.app.get(ResultInboxProcessor).drainNow();
  });

  it('during a burst the updates are stored and answered first, and confirmed once it ends', async () => {
    const post = (payload: string) =>
      world.billing.harness.request({
        method: 'POST',
        url: PAYNOW_RESULT_PATH,
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        payload,
      });
    // Five waves of 30 concurrent posts, back to back (about 100 posts/s or more: a burst).
    const bodies: string[] = [];
    for (let wave = 0; wave < 5; wave++) {
      const batch = Array.from({ length: 30 }, unknownUpdate);
      bodies.push(...batch);
      const answers = await Promise.all(batch.map(post));
      expect(answers.map((a) => a.statusCode)).toEqual(batch.map(() => 200));
    }
    // Nothing more arrives: the burst is over and processing catches up without being asked.
    await waitFor(
      async () => (await inboxStatuses(bodies)).every((s) => s === 'ignored'),
      'burst processed',
      15_000,
    );
    // No update was confirmed before the last one was stored (before, the first 200 kicked the processor and
    // the rest of the burst shared the event loop and the pool with its polls).
    const [span] = (await world.billing.dataSource.query(
      `SELECT count(*)::int AS n, bool_and(processed_at >= (SELECT max(received_at) FROM paynow_inbox
                                                              WHERE body = ANY($1::text[]))) AS after_burst
         FROM paynow_inbox WHERE body = ANY($1::text[])`,
      [bodies],
    )) as { n: number; after_burst: boolean }[];
    expect(span).toEqual({ n: bodies.length, after_burst: true });
  });
});
