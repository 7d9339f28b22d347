import { Inject, Injectable, OnModuleDestroy } from '@nestjs/common';
import { APP_CONFIG } from '@app/config';
import type { Config } from '../config/env';
import { BurstDetector } from '../common/burst-detector';
import { InboxRepository, StoreResult } from './inbox.repository';

interface Waiting {
  body: string;
  hash: string;
  resolve: (result: StoreResult) => void;
  reject: (error: unknown) => void;
}

const MAX_BATCH = 500;
const MAX_IN_FLIGHT = 4;
/** A burst: 20 notifications within 100-200 ms (about 100/s or more). */
const BURST_STORES = 20;
const BURST_WINDOW_MS = 100;

/**
 * Group commit for the receiver: requests arriving while earlier inserts are in flight are written together in
 * one statement and one commit, and each request is answered only once its own row is committed. Under load
 * this turns hundreds of fsyncs into a few, without ever acknowledging a notification that is not durable.
 */
@Injectable()
export class InboxWriter implements OnModuleDestroy {
  private queue: Waiting[] = [];
  private inFlight = 0;
  private readonly flushes = new Set<Promise<void>>();
  private readonly bursts = new BurstDetector(BURST_STORES, BURST_WINDOW_MS);

  constructor(
    @Inject(APP_CONFIG) private readonly config: Config,
    private readonly inbox: InboxRepository,
  ) {}

  /** Since when the receiver has been taking a burst of notifications (null: no burst now). */
  burstSince(now = Date.now()): number | null {
    return this.bursts.burstSince(now);
  }

  store(body: string): Promise<StoreResult> {
    this.bursts.record(Date.now());
    return new Promise<StoreResult>((resolve, reject) => {
      this.queue.push({ body, hash: InboxRepository.hash(body), resolve, reject });
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
      const flush = this.flush(batch).finally(() => {
        this.inFlight--;
        this.flushes.delete(flush);
        this.pump();
      });
      this.flushes.add(flush);
    }
  }

  private async flush(batch: Waiting[]): Promise<void> {
    let results: Map<string, StoreResult>;
    try {
      results = await this.inbox.storeMany(
        batch.map((w) => ({ body: w.body, hash: w.hash })),
        this.config.BILLING_INBOX_REDELIVERY_SECONDS,
      );
    } catch (error) {
      for (const waiting of batch) waiting.reject(error);
      return;
    }
    // The first request with a body stored by this batch reports it stored; every other copy is a duplicate.
    const claimed = new Set<string>();
    for (const waiting of batch) {
      const row = results.get(waiting.hash);
      const first = !claimed.has(waiting.hash);
      claimed.add(waiting.hash);
      waiting.resolve({ id: row?.id ?? '', stored: Boolean(row?.stored) && first });
    }
  }
}
