import { createHash, randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { shuffle } from '../bench-load';

/**
 * Kill Bill push notifications as Kill Bill sends them (contract §3.4 shapes, `User-Agent: KillBill/1.0`), for
 * accounts that exist in the Kill Bill emulator, with duplicates, in random order, each retried until a 2xx
 * (Kill Bill retries every failed push). The sent set is what billing's inbox must hold at the end.
 */
export function notificationBodies(accountIds: string[], total: number, duplicateShare = 0.3): string[] {
  const uniqueCount = Math.round(total * (1 - duplicateShare));
  const unique = Array.from({ length: uniqueCount }, (_, i) => notification(accountIds, i));
  const duplicates = Array.from(
    { length: total - uniqueCount },
    () => unique[Math.floor(Math.random() * uniqueCount)] as string,
  );
  return shuffle([...unique, ...duplicates]);
}

function notification(accountIds: string[], i: number): string {
  const accountId = accountIds[i % accountIds.length] as string;
  const at = new Date(Date.UTC(2026, 0, 1) + i * 1000).toISOString();
  switch (i % 3) {
    case 0: // re-read from Kill Bill and applied (the account is not linked to a tenant: nothing changes)
      return JSON.stringify({
        eventType: 'BLOCKING_STATE',
        accountId,
        objectType: 'ACCOUNT',
        objectId: accountId,
        metaData: JSON.stringify({
          blockableId: accountId,
          service: 'overdue-service',
          stateName: '__KILLBILL__CLEAR__OVERDUE_STATE__',
          blockingType: 'ACCOUNT',
          effectiveDate: at,
        }),
      });
    case 1:
      return JSON.stringify({
        eventType: 'PAYMENT_SUCCESS',
        accountId,
        objectType: 'PAYMENT',
        objectId: randomUUID(),
        metaData: JSON.stringify({ paymentTransactionId: randomUUID(), amount: 5, currency: 'USD' }),
      });
    default:
      return JSON.stringify({
        eventType: 'TAG_CREATION',
        accountId,
        objectType: 'TAG',
        objectId: randomUUID(),
        metaData: JSON.stringify({ tagDefinitionName: 'AUTO_PAY_OFF', at }),
      });
  }
}

export function sha256(body: string): string {
  return createHash('sha256').update(body).digest('hex');
}

export interface SenderStats {
  sent: number;
  accepted: number;
  attempts: number;
  failedAttempts: number;
  /** Given up after the retry window, as Kill Bill drops a push after its last retry. */
  dropped: number;
}

/** Pushes every body once to a 2xx, `lanes` at a time, paced to last about `durationMs`. */
export class KillBillPushSender {
  readonly stats: SenderStats = { sent: 0, accepted: 0, attempts: 0, failedAttempts: 0, dropped: 0 };
  /** The hash of every body that got a 2xx. */
  readonly acceptedHashes = new Set<string>();
  private next = 0;

  constructor(
    private readonly url: string,
    private readonly bodies: string[],
    private readonly lanes: number,
    private readonly durationMs: number,
  ) {}

  async run(): Promise<void> {
    const paceMs = (this.durationMs * this.lanes) / Math.max(1, this.bodies.length);
    await Promise.all(
      Array.from({ length: this.lanes }, async () => {
        while (this.next < this.bodies.length) {
          const body = this.bodies[this.next++] as string;
          const started = Date.now();
          await this.push(body);
          await sleep(Math.max(0, paceMs - (Date.now() - started)));
        }
      }),
    );
  }

  /** One notification, as Kill Bill delivers it: retried (backoff up to 5 s) until the receiver answers 2xx, for at most `giveUpAfterMs`. */
  async push(body: string, giveUpAfterMs = 300_000): Promise<boolean> {
    this.stats.sent++;
    const deadline = Date.now() + giveUpAfterMs;
    for (let delay = 200; Date.now() < deadline; delay = Math.min(delay * 2, 5000)) {
      this.stats.attempts++;
      const status = await fetch(this.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json; charset=UTF-8', 'user-agent': 'KillBill/1.0' },
        body,
        signal: AbortSignal.timeout(15_000),
      })
        .then(async (res) => {
          await res.arrayBuffer();
          return res.status;
        })
        .catch(() => 0);
      if (status >= 200 && status < 300) {
        this.stats.accepted++;
        this.acceptedHashes.add(sha256(body));
        return true;
      }
      this.stats.failedAttempts++;
      await sleep(delay);
    }
    this.stats.dropped++;
    return false;
  }
}
