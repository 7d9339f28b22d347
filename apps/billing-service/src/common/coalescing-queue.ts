import { Semaphore } from './semaphore';

const ignore = () => undefined;

interface Slot<T> {
  current: Promise<T>;
  /** `started`: the current run has begun (holds a permit and is reading state). */
  run: { started: boolean };
  /** The run queued behind a started one, shared by every call made meanwhile. */
  next: Promise<T> | null;
}

/**
 * Runs at most one task per key at a time, at most `limiter` tasks overall, and merges calls: a call joins
 * the key's run if that run has not started yet (it is waiting for a permit), otherwise it waits for one
 * follow-up run, shared by every call made before the follow-up starts. Right for work that re-reads current
 * state (a sync of one Kill Bill account): a run that starts after a call sees everything that call was
 * about, so fifty notifications about one account cost a couple of syncs, and an older read is never applied
 * after a newer one.
 */
export class CoalescingQueue<T> {
  private readonly slots = new Map<string, Slot<T>>();

  constructor(private readonly limiter: Semaphore) {}

  run(key: string, task: () => Promise<T>): Promise<T> {
    const slot = this.slots.get(key);
    if (!slot) return this.launch(key, task);
    if (!slot.run.started) return slot.current;
    slot.next ??= slot.current.then(ignore, ignore).then(() => this.launch(key, task));
    return slot.next;
  }

  private launch(key: string, task: () => Promise<T>): Promise<T> {
    const run = { started: false };
    const current = this.limiter.run(() => {
      run.started = true;
      return task();
    });
    const slot = this.slots.get(key);
    if (slot) Object.assign(slot, { current, run, next: null });
    else this.slots.set(key, { current, run, next: null });
    void current.then(ignore, ignore).then(() => {
      const now = this.slots.get(key);
      if (now && now.current === current && !now.next) this.slots.delete(key);
    });
    return current;
  }
}
