import { Injectable, OnModuleDestroy } from '@nestjs/common';
import { BurstDetector } from '../common/burst-detector';
import { ResultInboxRepository } from './result-inbox.repository';

interface Waiting {
  item: { body: string; reference: string; gatewayStatus: string };
  resolve: () => void;
  reject: (error: unknown) => void;
}

const MAX_BATCH = 500;
const MAX_IN_FLIGHT = 4;
/** A burst: 20 status updates within 100-200 ms (about 100/s or more). */
const BURST_STORES = 20;
const BURST_WINDOW_MS = 100;

/**
 * Group commit for the result endpoint: updates arriving while earlier inserts are in flight are written in one
 * statement, and each request is answered only once its own row is committed (never acknowledged before it is
 * durable).
 */
@Injectable()
export class ResultInboxWriter implements OnModuleDestroy {
  private queue: Waiting[] = [];
  private inFlight = 0;
  private readonly flushes = new Set<Promise<void>>();
  private readonly bursts = new BurstDetector(BURST_STORES, BURST_WINDOW_MS);

  constructor(private readonly inbox: ResultInboxRepository) {}

  /** Since when the endpoint has been taking a burst of status updates (null: no burst now). */
  burstSince(now = Date.now()): number | null {
    return this.bursts.burstSince(now);
  }

  store(item: Waiting['item']): Promise<void> {
    this.bursts.record(Date.now());
    return new Promise<void>((resolve, reject) => {
      this.queue.push({ item, resolve, reject });
      this.pump();
    });
  }

  async onModuleDestroy(): Promise<void> {
    while (this.flushes.size > 0) await Promise.all([...this.flushes]);
  }

  private pump(): void {
    while (this.inFlight < MAX_IN_FLIGHT && this.queue.length > 0) {
      const batch = this.queue.splice(0, MAX_BATCH);
      this.inFlight++;
      const flush = this.inbox
        .storeMany(batch.map((w) => w.item))
        .then(
          () => batch.forEach((w) => w.resolve()),
          (error: unknown) => batch.forEach((w) => w.reject(error)),
        )
        .finally(() => {
          this.inFlight--;
          this.flushes.delete(flush);
          this.pump();
        });
      this.flushes.add(flush);
    }
  }
}
