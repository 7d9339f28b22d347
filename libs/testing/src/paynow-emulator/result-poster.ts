/**
 * Posts status updates to a merchant's result URL the way PayNow does: form-encoded and hashed, retried when
 * the merchant answers with an error, and — under the test's control — duplicated, delayed, shuffled or lost.
 */
import { Fields, signed } from './paynow-wire';

export interface ResultPostOptions {
  /** Copies of every update (PayNow may post the same update more than once). Default 1. */
  duplicate: number;
  /** Delay before each copy is sent, in real ms: a number, or [min, max] for a random delay. */
  delayMs: number | [number, number];
  /** Send the queued copies in a random order (with `delayMs` a range, each copy gets its own delay). */
  shuffle: boolean;
  /** Lose updates: true (all) or a probability. */
  drop: boolean | number;
  /** Real ms before each retry after an error answer; the update is given up after the last one. */
  retrySchedule: number[];
}

export interface ResultPost {
  reference: string;
  status: string;
  body: string;
  url: string;
  copy: number;
  outcome: 'queued' | 'delivered' | 'dropped' | 'given_up';
  attempts: { statusCode: number | null; error?: string }[];
}

export class ResultPoster {
  private options: ResultPostOptions;
  readonly posts: ResultPost[] = [];
  private readonly timers = new Set<NodeJS.Timeout>();
  private inFlight = 0;
  private stopped = false;

  constructor(
    private readonly integrationKey: string,
    options: Partial<ResultPostOptions>,
  ) {
    this.options = {
      duplicate: 1,
      delayMs: 0,
      shuffle: false,
      drop: false,
      retrySchedule: [50, 100, 200, 400, 800],
      ...options,
    };
  }

  /** Changes the knobs for the updates sent from now on. */
  configure(options: Partial<ResultPostOptions>): void {
    this.options = { ...this.options, ...options };
  }

  post(url: string, reference: string, fields: Fields): void {
    const body = signed(fields, this.integrationKey);
    const status = fields.find(([k]) => k === 'status')?.[1] ?? '';
    const drop = this.options.drop;
    const lost = drop === true || (typeof drop === 'number' && Math.random() < drop);
    for (let copy = 1; copy <= Math.max(1, this.options.duplicate); copy++) {
      const post: ResultPost = { reference, status, body, url, copy, outcome: 'queued', attempts: [] };
      this.posts.push(post);
      if (lost) {
        post.outcome = 'dropped';
        continue;
      }
      this.later(this.delay(), () => this.send(post));
    }
  }

  /** Resolves once no update is waiting or in flight (given up or delivered). */
  async waitForIdle(timeoutMs = 10_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (this.timers.size > 0 || this.inFlight > 0) {
      if (Date.now() > deadline) throw new Error('PayNow result posts still in flight');
      await new Promise((r) => setTimeout(r, 10));
    }
  }

  stop(): void {
    this.stopped = true;
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
  }

  private delay(): number {
    const d = this.options.delayMs;
    if (typeof d === 'number') return this.options.shuffle ? Math.random() * Math.max(d, 20) : d;
    return d[0] + Math.random() * (d[1] - d[0]);
  }

  private later(ms: number, task: () => Promise<void>): void {
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      if (!this.stopped) void task();
    }, ms);
    this.timers.add(timer);
  }

  private async send(post: ResultPost): Promise<void> {
    this.inFlight++;
    let ok = false;
    try {
      const res = await fetch(post.url, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: post.body,
        signal: AbortSignal.timeout(10_000),
      });
      await res.arrayBuffer();
      post.attempts.push({ statusCode: res.status });
      ok = res.status >= 200 && res.status < 300;
    } catch (error) {
      post.attempts.push({ statusCode: null, error: error instanceof Error ? error.message : String(error) });
    } finally {
      this.inFlight--;
    }
    if (ok) {
      post.outcome = 'delivered';
      return;
    }
    const retryIn = this.options.retrySchedule[post.attempts.length - 1];
    if (retryIn === undefined) post.outcome = 'given_up';
    else this.later(retryIn, () => this.send(post));
  }
}
