/**
 * Tells whether events are arriving in a burst: at least `threshold` within the current and previous
 * window (so about threshold / window events per second or more), and since when.
 */
export class BurstDetector {
  private start = 0;
  private count = 0;
  private previous = 0;
  private since: number | null = null;

  constructor(
    private readonly threshold: number,
    private readonly windowMs: number,
  ) {}

  record(now: number): void {
    this.roll(now);
    this.count++;
  }

  /** When the current burst started, or null when there is none. */
  burstSince(now: number): number | null {
    this.roll(now);
    this.since = this.count + this.previous >= this.threshold ? (this.since ?? now) : null;
    return this.since;
  }

  private roll(now: number): void {
    const elapsed = now - this.start;
    if (elapsed < this.windowMs) return;
    this.previous = elapsed < 2 * this.windowMs ? this.count : 0;
    this.start = now;
    this.count = 0;
  }
}
