import { randomBytes, randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  buildHandlerRegistry,
  HandlerRegistryError,
  InstanceLogsClient,
  InstanceLogsResponder,
  InstanceLogsUnavailableError,
  JobDeferral,
  LIFECYCLE_JOB_NAMES,
  LifecycleConsumer,
  lifecycleJobId,
  LifecycleQueue,
  parseLifecycleJobId,
  PermanentJobError,
  type LifecycleJobContext,
  type LifecycleJobHandler,
  type LifecycleJobName,
} from '@app/queue';

const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';

class RecordingHandler implements LifecycleJobHandler {
  readonly seen: LifecycleJobContext[] = [];
  constructor(
    readonly jobName: LifecycleJobName,
    private readonly behaviour: (
      ctx: LifecycleJobContext,
    ) => Promise<'succeeded' | 'skipped' | 'superseded'> = async () => 'succeeded',
  ) {}
  handle(ctx: LifecycleJobContext) {
    this.seen.push(ctx);
    return this.behaviour(ctx);
  }
}

function allHandlers(
  overrides: Partial<Record<LifecycleJobName, RecordingHandler>> = {},
): RecordingHandler[] {
  return LIFECYCLE_JOB_NAMES.map((name) => overrides[name] ?? new RecordingHandler(name));
}

async function until(
  what: string,
  probe: () => boolean | Promise<boolean>,
  timeoutMs = 10_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await probe())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(25);
  }
}

describe('lifecycle queue (real Redis)', () => {
  const prefix = `test-q-${randomBytes(4).toString('hex')}`;
  const queue = new LifecycleQueue({ redisUrl: REDIS_URL, prefix });
  const consumers: LifecycleConsumer[] = [];

  afterAll(async () => {
    for (const consumer of consumers) await consumer.close(2000);
    await queue.queue.obliterate({ force: true });
    await queue.close();
  });

  it('uses deterministic ids <instance>:<job>:<generation> and parses them back', () => {
    const id = randomUUID();
    expect(lifecycleJobId(id, 'backup', 7)).toBe(`${id}:backup:7`);
    expect(parseLifecycleJobId(`${id}:backup:7`)).toEqual({ instanceId: id, name: 'backup', generation: 7 });
    expect(parseLifecycleJobId(`${id}:dance:7`)).toBeNull();
    expect(parseLifecycleJobId(`not-a-uuid:start:1`)).toBeNull();
    expect(parseLifecycleJobId(`${id}:start:x`)).toBeNull();
  });

  it('enqueues a job once per id, with explicit attempts and backoff', async () => {
    const instanceId = randomUUID();
    const first = await queue.enqueue({ name: 'stop', instanceId, generation: 3, requestedBy: 'u1' });
    const again = await queue.enqueue({ name: 'stop', instanceId, generation: 3, requestedBy: 'reconciler' });
    expect(first).toEqual({ jobId: `${instanceId}:stop:3`, created: true });
    expect(again).toEqual({ jobId: first.jobId, created: false });
    const job = await queue.queue.getJob(first.jobId);
    expect(job?.opts).toMatchObject({ attempts: 5, backoff: { type: 'exponential', delay: 1000 } });
    expect(job?.data).toMatchObject({
      instance_id: instanceId,
      generation: 3,
      requested_by: 'u1',
      params: {},
    });
    expect(await queue.getJobState(first.jobId)).toBe('waiting');
    expect(await queue.getJobState(`${instanceId}:stop:4`)).toBe('unknown');
    await job?.remove();
  });

  it('refuses to build a consumer with a missing, duplicate or unknown handler', () => {
    const missing = allHandlers().filter((h) => h.jobName !== 'restore');
    expect(() => buildHandlerRegistry(missing)).toThrow(/job "restore" has no handler/);
    const duplicate = [...allHandlers(), new RecordingHandler('stop')];
    expect(() => buildHandlerRegistry(duplicate)).toThrow(/job "stop" has two handlers/);
    const unknown = [...allHandlers(), new RecordingHandler('dance' as LifecycleJobName)];
    expect(
      () => new LifecycleConsumer({ redisUrl: REDIS_URL, prefix, concurrency: 1, handlers: unknown }),
    ).toThrow(HandlerRegistryError);
  });

  it('dispatches by name only after start(), retries, defers without using attempts, stops on permanent errors', async () => {
    let flaky = 0;
    let deferred = 0;
    const outcomes: string[] = [];
    const start = new RecordingHandler('start');
    const stop = new RecordingHandler('stop', async () => {
      flaky += 1;
      if (flaky === 1) throw new Error('transient');
      return 'succeeded';
    });
    const suspend = new RecordingHandler('suspend', async () => {
      deferred += 1;
      if (deferred <= 2) throw new JobDeferral(50, 'busy');
      return 'succeeded';
    });
    const purge = new RecordingHandler('purge', async () => {
      throw new PermanentJobError('nope');
    });
    const consumer = new LifecycleConsumer({
      redisUrl: REDIS_URL,
      prefix,
      concurrency: 2,
      handlers: allHandlers({ start, stop, suspend, purge }),
      onFinished: (name, outcome) => outcomes.push(`${name}:${outcome}`),
    });
    consumers.push(consumer);
    const instanceId = randomUUID();
    await queue.enqueue({ name: 'start', instanceId, generation: 1, requestedBy: 'u' });
    await sleep(300);
    expect(start.seen).toHaveLength(0);

    await consumer.start();
    await until('start to run', () => start.seen.length === 1);
    expect(start.seen[0]).toMatchObject({ name: 'start', attempt: 1, maxAttempts: 3, isFinalAttempt: false });

    // Backoff of `stop` is 1 s for the first retry.
    const stopId = (await queue.enqueue({ name: 'stop', instanceId, generation: 2, requestedBy: 'u' })).jobId;
    await until(
      'stop to succeed on its retry',
      async () => (await queue.getJobState(stopId)) === 'completed',
      8000,
    );
    expect(stop.seen.map((c) => c.attempt)).toEqual([1, 2]);

    const suspendId = (await queue.enqueue({ name: 'suspend', instanceId, generation: 3, requestedBy: 'u' }))
      .jobId;
    await until('suspend to complete', async () => (await queue.getJobState(suspendId)) === 'completed');
    expect(suspend.seen.map((c) => c.attempt)).toEqual([1, 1, 1]);

    const purgeId = (await queue.enqueue({ name: 'purge', instanceId, generation: 4, requestedBy: 'u' }))
      .jobId;
    await until('purge to fail', async () => (await queue.getJobState(purgeId)) === 'failed');
    expect(purge.seen).toHaveLength(1);
    expect(outcomes).toEqual(
      expect.arrayContaining([
        'start:succeeded',
        'stop:retrying',
        'stop:succeeded',
        'suspend:deferred',
        'purge:failed',
      ]),
    );
  }, 20_000);
});

describe('instance logs over Redis', () => {
  const prefix = `test-l-${randomBytes(4).toString('hex')}`;

  it('answers through whichever worker pops the request, and times out when none does', async () => {
    const client = new InstanceLogsClient({ redisUrl: REDIS_URL, prefix });
    const responder = new InstanceLogsResponder({
      redisUrl: REDIS_URL,
      prefix,
      resolve: async (instanceId, lines) => ({
        ok: true,
        container_name: `c-${instanceId}`,
        lines,
        logs: 'a\nb\n',
      }),
    });
    try {
      await expect(client.fetch(randomUUID(), 10, 300)).rejects.toBeInstanceOf(InstanceLogsUnavailableError);
      responder.start();
      const id = randomUUID();
      const [one, two] = await Promise.all([client.fetch(id, 5), client.fetch(id, 2000)]);
      expect(one).toEqual({ ok: true, container_name: `c-${id}`, lines: 5, logs: 'a\nb\n' });
      expect(two).toMatchObject({ lines: 1000 });
    } finally {
      await responder.close();
      await client.close();
    }
  });
});
