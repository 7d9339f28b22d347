/**
 * Push-notification delivery for the Kill Bill emulator (test double), following contract §2.6:
 * POST of the NotificationJson body, success = 2xx, anything else (or a network error / timeout) is retried on
 * the retry schedule (one delay per retry, counted from the failure) and dropped after the last retry.
 * Retry delays are real milliseconds here (Kill Bill's 15m,30m,2h,12h,1d are shortened by the caller).
 * Test knobs: concurrency, out-of-order (shuffled) dispatch, duplicated deliveries, pause/resume.
 */
import http from 'node:http';
import https from 'node:https';

export interface KillBillPushPayload {
  eventType: string;
  accountId: string | null;
  objectType: string;
  objectId: string | null;
  metaData: string | null;
}

export type PushDeliveryStatus = 'QUEUED' | 'IN_FLIGHT' | 'RETRY_SCHEDULED' | 'DELIVERED' | 'DROPPED';

export interface PushAttempt {
  /** 1 for the first try, 2 for the first retry, ... */
  attemptNumber: number;
  startedAt: string;
  durationMs: number;
  statusCode: number | null;
  error: string | null;
}

export interface PushDelivery {
  id: number;
  tenantId: string;
  url: string;
  payload: KillBillPushPayload;
  /** The exact request body that was (or will be) sent. */
  body: string;
  /** True for the extra copy created by the `duplicate` option. */
  duplicate: boolean;
  status: PushDeliveryStatus;
  attempts: PushAttempt[];
  retrySchedule: number[];
  /** Real-time epoch ms of the next scheduled retry, when status is RETRY_SCHEDULED. */
  nextAttemptAt: number | null;
}

export interface PushDispatcherOptions {
  retrySchedule: number[];
  concurrency: number;
  shuffle: boolean;
  /** true = every notification is sent twice; a number in [0,1] = probability of a duplicate. */
  duplicate: boolean | number;
  timeoutMs: number;
  /** Send the `Upgrade: h2c` headers the JDK HTTP client adds on http:// URLs (contract §2.6). */
  h2cUpgradeHeaders: boolean;
  random: () => number;
}

export interface PushStats {
  deliveries: number;
  queued: number;
  inFlight: number;
  retryScheduled: number;
  delivered: number;
  dropped: number;
  attempts: number;
  failedAttempts: number;
}

interface Waiter {
  includeRetries: boolean;
  resolve: () => void;
}

export class PushDispatcher {
  private readonly records: PushDelivery[] = [];
  private readonly queue: PushDelivery[] = [];
  private readonly timers = new Map<number, NodeJS.Timeout>();
  private readonly requests = new Set<http.ClientRequest>();
  private readonly waiters = new Set<Waiter>();
  private inFlight = 0;
  private paused = false;
  private stopped = false;
  private nextId = 1;

  constructor(private readonly options: PushDispatcherOptions) {}

  enqueue(tenantId: string, url: string, payload: KillBillPushPayload, retrySchedule?: number[]): void {
    if (this.stopped) return;
    const schedule = retrySchedule ?? this.options.retrySchedule;
    const copies =
      this.options.duplicate === true ||
      (typeof this.options.duplicate === 'number' && this.options.random() < this.options.duplicate)
        ? 2
        : 1;
    const body = JSON.stringify(payload);
    for (let i = 0; i < copies; i++) {
      const delivery: PushDelivery = {
        id: this.nextId++,
        tenantId,
        url,
        payload,
        body,
        duplicate: i > 0,
        status: 'QUEUED',
        attempts: [],
        retrySchedule: [...schedule],
        nextAttemptAt: null,
      };
      this.records.push(delivery);
      this.queue.push(delivery);
    }
    this.pump();
  }

  list(): PushDelivery[] {
    return this.records.map((r) => ({ ...r, attempts: [...r.attempts], payload: { ...r.payload } }));
  }

  stats(): PushStats {
    const count = (status: PushDeliveryStatus): number =>
      this.records.filter((r) => r.status === status).length;
    const attempts = this.records.reduce((sum, r) => sum + r.attempts.length, 0);
    const failed = this.records.reduce(
      (sum, r) =>
        sum +
        r.attempts.filter((a) => a.statusCode === null || a.statusCode < 200 || a.statusCode > 299).length,
      0,
    );
    return {
      deliveries: this.records.length,
      queued: count('QUEUED'),
      inFlight: count('IN_FLIGHT'),
      retryScheduled: count('RETRY_SCHEDULED'),
      delivered: count('DELIVERED'),
      dropped: count('DROPPED'),
      attempts,
      failedAttempts: failed,
    };
  }

  pause(): void {
    this.paused = true;
  }

  resume(): void {
    this.paused = false;
    this.pump();
  }

  isPaused(): boolean {
    return this.paused;
  }

  /** Fires every scheduled retry now instead of waiting for its delay. */
  retryNow(): void {
    for (const [id, timer] of this.timers) {
      clearTimeout(timer);
      this.timers.delete(id);
      const delivery = this.records.find((r) => r.id === id);
      if (delivery) this.requeue(delivery);
    }
  }

  /** Forgets the delivery log (pending work is kept). */
  clearLog(): void {
    const active = this.records.filter((r) => r.status !== 'DELIVERED' && r.status !== 'DROPPED');
    this.records.splice(0, this.records.length, ...active);
  }

  /**
   * Resolves once nothing is queued or in flight. Scheduled retries count as idle unless includeRetries is set,
   * in which case it waits until every delivery is DELIVERED or DROPPED.
   */
  waitForIdle(options: { timeoutMs?: number; includeRetries?: boolean } = {}): Promise<void> {
    const includeRetries = options.includeRetries ?? false;
    if (this.isIdle(includeRetries)) return Promise.resolve();
    const timeoutMs = options.timeoutMs ?? 10_000;
    return new Promise<void>((resolve, reject) => {
      const waiter: Waiter = {
        includeRetries,
        resolve: () => {
          clearTimeout(timer);
          resolve();
        },
      };
      const timer = setTimeout(() => {
        this.waiters.delete(waiter);
        const s = this.stats();
        reject(
          new Error(
            `KillBillEmulator push deliveries not idle after ${timeoutMs} ms (queued=${s.queued}, inFlight=${s.inFlight}, ` +
              `retryScheduled=${s.retryScheduled}, paused=${this.paused})`,
          ),
        );
      }, timeoutMs);
      this.waiters.add(waiter);
    });
  }

  stop(): void {
    this.stopped = true;
    for (const timer of this.timers.values()) clearTimeout(timer);
    this.timers.clear();
    for (const request of this.requests) request.destroy();
    this.requests.clear();
    this.queue.length = 0;
  }

  private isIdle(includeRetries: boolean): boolean {
    return this.queue.length === 0 && this.inFlight === 0 && (!includeRetries || this.timers.size === 0);
  }

  private notifyWaiters(): void {
    for (const waiter of [...this.waiters]) {
      if (this.isIdle(waiter.includeRetries)) {
        this.waiters.delete(waiter);
        waiter.resolve();
      }
    }
  }

  private requeue(delivery: PushDelivery): void {
    if (this.stopped) return;
    delivery.status = 'QUEUED';
    delivery.nextAttemptAt = null;
    this.queue.push(delivery);
    this.pump();
  }

  private pump(): void {
    while (
      !this.paused &&
      !this.stopped &&
      this.inFlight < this.options.concurrency &&
      this.queue.length > 0
    ) {
      const index = this.options.shuffle ? Math.floor(this.options.random() * this.queue.length) : 0;
      const [delivery] = this.queue.splice(index, 1);
      this.inFlight++;
      delivery.status = 'IN_FLIGHT';
      void this.send(delivery).then((attempt) => this.complete(delivery, attempt));
    }
    this.notifyWaiters();
  }

  private complete(delivery: PushDelivery, attempt: PushAttempt): void {
    this.inFlight--;
    delivery.attempts.push(attempt);
    const ok = attempt.statusCode !== null && attempt.statusCode >= 200 && attempt.statusCode < 300;
    if (ok) {
      delivery.status = 'DELIVERED';
    } else if (this.stopped) {
      delivery.status = 'DROPPED';
    } else {
      const retryIndex = delivery.attempts.length - 1;
      if (retryIndex < delivery.retrySchedule.length) {
        const delay = delivery.retrySchedule[retryIndex];
        delivery.status = 'RETRY_SCHEDULED';
        delivery.nextAttemptAt = Date.now() + delay;
        const timer = setTimeout(() => {
          this.timers.delete(delivery.id);
          this.requeue(delivery);
        }, delay);
        this.timers.set(delivery.id, timer);
      } else {
        delivery.status = 'DROPPED';
      }
    }
    this.pump();
  }

  private send(delivery: PushDelivery): Promise<PushAttempt> {
    const startedAt = Date.now();
    const attemptNumber = delivery.attempts.length + 1;
    const finish = (statusCode: number | null, error: string | null): PushAttempt => ({
      attemptNumber,
      startedAt: new Date(startedAt).toISOString(),
      durationMs: Date.now() - startedAt,
      statusCode,
      error,
    });
    return new Promise<PushAttempt>((resolve) => {
      let url: URL;
      try {
        url = new URL(delivery.url);
      } catch {
        resolve(finish(null, `Invalid callback URL ${delivery.url}`));
        return;
      }
      const headers: Record<string, string | number> = {
        'Content-Type': 'application/json; charset=UTF-8',
        'User-Agent': 'KillBill/1.0',
        'Content-Length': Buffer.byteLength(delivery.body),
      };
      if (this.options.h2cUpgradeHeaders && url.protocol === 'http:') {
        headers.Connection = 'Upgrade, HTTP2-Settings';
        headers.Upgrade = 'h2c';
        headers['HTTP2-Settings'] = 'AAEAAEAAAAIAAAABAAMAAABkAAQBAAAAAAUAAEAA';
      }
      const client = url.protocol === 'https:' ? https : http;
      let settled = false;
      const settle = (attempt: PushAttempt): void => {
        if (settled) return;
        settled = true;
        this.requests.delete(request);
        resolve(attempt);
      };
      const request = client.request(
        url,
        { method: 'POST', headers, timeout: this.options.timeoutMs },
        (response) => {
          response.resume();
          response.on('end', () => settle(finish(response.statusCode ?? null, null)));
          response.on('error', (error) => settle(finish(response.statusCode ?? null, error.message)));
        },
      );
      this.requests.add(request);
      request.on('timeout', () => request.destroy(new Error(`timeout after ${this.options.timeoutMs} ms`)));
      request.on('error', (error) => settle(finish(null, error.message)));
      request.end(delivery.body);
    });
  }
}
