import { DataSource } from 'typeorm';
import type { KillBillEmulator } from '../../../../libs/testing/src/killbill-emulator';
import { KillBillClient } from '../../src/killbill/killbill.client';
import { BillingUnderTest, KB_API_KEY, KB_API_SECRET } from './billing-harness';

/** A Kill Bill client as the platform's tenant, for what a test does "on the Kill Bill side". */
export function tenantClient(kb: KillBillEmulator): KillBillClient {
  return new KillBillClient({
    url: kb.url,
    username: 'admin',
    password: 'password',
    apiKey: KB_API_KEY,
    apiSecret: KB_API_SECRET,
    createdBy: 'test',
    timeoutMs: 3000,
    retries: 0,
  });
}

async function inboxBacklog(dataSource: DataSource): Promise<number> {
  const [row] = (await dataSource.query(
    `SELECT count(*)::int AS n FROM killbill_inbox WHERE status IN ('pending', 'processing')`,
  )) as { n: number }[];
  const [mail] = (await dataSource.query(
    `SELECT count(*)::int AS n FROM mail_outbox WHERE status IN ('pending', 'processing')`,
  )) as { n: number }[];
  return (row?.n ?? 0) + (mail?.n ?? 0);
}

/**
 * Waits until Kill Bill has nothing left to push (delivered or dropped, retries included unless told) and
 * billing has processed every notification and sent every mail.
 */
export async function settle(
  kb: KillBillEmulator,
  billing: BillingUnderTest,
  options: { includeRetries?: boolean } = {},
): Promise<void> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    await kb.waitForIdle({ includeRetries: options.includeRetries ?? true, timeoutMs: 15_000 });
    await billing.drain();
    const backlog = await inboxBacklog(billing.dataSource);
    const stats = kb.stats();
    if (backlog === 0 && stats.queued === 0 && stats.inFlight === 0) return;
    if (Date.now() > deadline) throw new Error(`billing did not settle (backlog ${backlog})`);
    await new Promise((r) => setTimeout(r, 30));
  }
}

export interface LocalSubscription {
  entitlement: string;
  kb_state: string;
  phase_type: string | null;
  plan_name: string;
  cancel_effective_at: Date | null;
  trial_ends_at: Date | null;
}

export async function localSubscription(billing: BillingUnderTest, id: string): Promise<LocalSubscription> {
  const [row] = (await billing.dataSource.query(
    `SELECT entitlement, kb_state, phase_type, plan_name, cancel_effective_at, trial_ends_at
       FROM subscriptions WHERE id = $1`,
    [id],
  )) as LocalSubscription[];
  if (!row) throw new Error(`no local subscription ${id}`);
  return row;
}
