import { CoalescingQueue } from './coalescing-queue';
import { Semaphore } from './semaphore';

function deferred() {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

describe('CoalescingQueue', () => {
  it('runs one task per key at a time and merges the calls waiting for the next run', async () => {
    const queue = new CoalescingQueue<number>(new Semaphore(10));
    const gate = deferred();
    let runs = 0;
    let concurrent = 0;
    let maxConcurrent = 0;
    const task = async () => {
      runs++;
      concurrent++;
      maxConcurrent = Math.max(maxConcurrent, concurrent);
      await gate.promise;
      concurrent--;
      return runs;
    };
    const first = queue.run('a', task);
    const waiting = [queue.run('a', task), queue.run('a', task), queue.run('a', task)];
    const other = queue.run('b', task);
    gate.resolve();
    expect(await first).toBeGreaterThanOrEqual(1);
    const results = await Promise.all(waiting);
    expect(new Set(results).size).toBe(1); // the three waiting calls shared one run
    await other;
    expect(runs).toBe(3); // a, the merged follow-up of a, and b
    expect(maxConcurrent).toBe(2); // a and b in parallel, never two of a
  });

  it('starts a new run for a call made after the previous one finished, and survives failures', async () => {
    const queue = new CoalescingQueue<string>(new Semaphore(10));
    await expect(queue.run('k', () => Promise.reject(new Error('boom')))).rejects.toThrow('boom');
    expect(await queue.run('k', () => Promise.resolve('ok'))).toBe('ok');
    expect(await queue.run('k', () => Promise.resolve('again'))).toBe('again');
  });

  it('lets calls join a run that is still waiting for a permit, and caps the runs in flight', async () => {
    const queue = new CoalescingQueue<number>(new Semaphore(1));
    const gate = deferred();
    let runs = 0;
    let concurrent = 0;
    let maxConcurrent = 0;
    const task = async () => {
      runs++;
      concurrent++;
      maxConcurrent = Math.max(maxConcurrent, concurrent);
      await gate.promise;
      concurrent--;
      return runs;
    };
    const blocker = queue.run('x', task); // takes the only permit
    const waiting = [1, 2, 3, 4].map(() => queue.run('y', task)); // all join the same queued run of y
    gate.resolve();
    await blocker;
    expect(new Set(await Promise.all(waiting)).size).toBe(1);
    expect(runs).toBe(2);
    expect(maxConcurrent).toBe(1);
  });
});
