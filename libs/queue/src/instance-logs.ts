import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import { z } from 'zod';
import { createQueueRedis, DEFAULT_QUEUE_PREFIX, type QueueConnectionOptions } from './redis-connection';

/*
 * Container logs for the API, which never talks to Docker: the API pushes a request on a Redis list, one
 * worker pops it, reads the container's log tail through DockerRuntime and publishes the answer on the
 * API process's own reply channel. Nothing is stored; a request nobody answers in time is a 503.
 */

export const MAX_LOG_LINES = 1000;

const requestSchema = z.object({
  request_id: z.string().min(1),
  instance_id: z.uuid(),
  lines: z.number().int().min(1).max(MAX_LOG_LINES),
  reply_to: z.string().min(1),
  deadline: z.number().int(),
});
export type InstanceLogsRequest = z.infer<typeof requestSchema>;

export type InstanceLogsAnswer =
  | { ok: true; container_name: string; lines: number; logs: string }
  | { ok: false; code: 'INSTANCE_NOT_FOUND' | 'CONTAINER_MISSING' | 'ERROR'; message: string };

type InstanceLogsReply = InstanceLogsAnswer & { request_id: string };

const replySchema = z.union([
  z.object({
    request_id: z.string(),
    ok: z.literal(true),
    container_name: z.string(),
    lines: z.number(),
    logs: z.string(),
  }),
  z.object({
    request_id: z.string(),
    ok: z.literal(false),
    code: z.enum(['INSTANCE_NOT_FOUND', 'CONTAINER_MISSING', 'ERROR']),
    message: z.string(),
  }),
]);

/** No worker answered within the timeout (none running, or Docker is slow). */
export class InstanceLogsUnavailableError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'InstanceLogsUnavailableError';
  }
}

function requestsKey(prefix: string): string {
  return `${prefix}:instance-logs:requests`;
}

/** API side. One subscriber connection per process; concurrent requests are matched by id. */
export class InstanceLogsClient {
  private readonly prefix: string;
  private readonly replyChannel: string;
  private commands?: Redis;
  private subscriber?: Redis;
  private subscribed?: Promise<void>;
  private readonly pending = new Map<string, (reply: InstanceLogsReply) => void>();

  constructor(private readonly options: QueueConnectionOptions) {
    this.prefix = options.prefix ?? DEFAULT_QUEUE_PREFIX;
    this.replyChannel = `${this.prefix}:instance-logs:reply:${randomUUID()}`;
  }

  /** The last `lines` lines of the instance container's stdout+stderr. */
  async fetch(instanceId: string, lines: number, timeoutMs = 5_000): Promise<InstanceLogsAnswer> {
    await this.ensureSubscribed();
    const commands = this.commandConnection();
    const requestId = randomUUID();
    const request: InstanceLogsRequest = {
      request_id: requestId,
      instance_id: instanceId,
      lines: Math.min(Math.max(1, Math.trunc(lines)), MAX_LOG_LINES),
      reply_to: this.replyChannel,
      deadline: Date.now() + timeoutMs,
    };
    let timer: NodeJS.Timeout | undefined;
    const answer = new Promise<InstanceLogsReply>((resolve, reject) => {
      this.pending.set(requestId, resolve);
      timer = setTimeout(() => {
        this.pending.delete(requestId);
        reject(new InstanceLogsUnavailableError(`no instance worker answered within ${timeoutMs} ms`));
      }, timeoutMs);
    });
    try {
      const key = requestsKey(this.prefix);
      await commands
        .multi()
        .rpush(key, JSON.stringify(request))
        .pexpire(key, timeoutMs * 4)
        .exec();
      const reply = await answer;
      const { request_id: _ignored, ...rest } = reply;
      return rest;
    } finally {
      clearTimeout(timer);
      this.pending.delete(requestId);
    }
  }

  async close(): Promise<void> {
    for (const connection of [this.subscriber, this.commands]) {
      await connection?.quit().catch(() => connection.disconnect());
    }
    this.subscriber = undefined;
    this.commands = undefined;
    this.subscribed = undefined;
  }

  private commandConnection(): Redis {
    this.commands ??= createQueueRedis(this.options.redisUrl, 'instance-logs-client', 'producer');
    return this.commands;
  }

  private ensureSubscribed(): Promise<void> {
    if (!this.subscribed) {
      const subscriber = createQueueRedis(this.options.redisUrl, 'instance-logs-replies', 'blocking');
      this.subscriber = subscriber;
      subscriber.on('message', (_channel: string, message: string) => {
        let parsed: unknown;
        try {
          parsed = JSON.parse(message);
        } catch {
          return;
        }
        const reply = replySchema.safeParse(parsed);
        if (!reply.success) return;
        this.pending.get(reply.data.request_id)?.(reply.data);
      });
      this.subscribed = subscriber.subscribe(this.replyChannel).then(
        () => undefined,
        (error: unknown) => {
          this.subscribed = undefined;
          throw error;
        },
      );
    }
    return this.subscribed;
  }
}

export type InstanceLogsResolver = (instanceId: string, lines: number) => Promise<InstanceLogsAnswer>;

/** Worker side: pops requests and answers them until closed. */
export class InstanceLogsResponder {
  private readonly prefix: string;
  private blocking?: Redis;
  private publisher?: Redis;
  private loop?: Promise<void>;
  private stopped = false;
  private readonly inFlight = new Set<Promise<void>>();

  constructor(
    private readonly options: QueueConnectionOptions & {
      resolve: InstanceLogsResolver;
      onError?: (error: Error) => void;
    },
  ) {
    this.prefix = options.prefix ?? DEFAULT_QUEUE_PREFIX;
  }

  start(): void {
    if (this.loop) return;
    this.stopped = false;
    this.blocking = createQueueRedis(this.options.redisUrl, 'instance-logs-responder', 'blocking');
    this.publisher = createQueueRedis(this.options.redisUrl, 'instance-logs-publisher', 'producer');
    this.loop = this.run(this.blocking, this.publisher);
  }

  async close(): Promise<void> {
    this.stopped = true;
    this.blocking?.disconnect();
    await this.loop?.catch(() => undefined);
    await Promise.allSettled([...this.inFlight]);
    await this.publisher?.quit().catch(() => this.publisher?.disconnect());
    this.loop = undefined;
    this.blocking = undefined;
    this.publisher = undefined;
  }

  private async run(blocking: Redis, publisher: Redis): Promise<void> {
    const key = requestsKey(this.prefix);
    while (!this.stopped) {
      let popped: [string, string] | null;
      try {
        popped = await blocking.blpop(key, 1);
      } catch (error) {
        if (this.stopped) return;
        this.options.onError?.(error instanceof Error ? error : new Error(String(error)));
        await new Promise((resolve) => setTimeout(resolve, 500));
        continue;
      }
      if (!popped) continue;
      const task = this.answer(popped[1], publisher).catch((error: unknown) => {
        this.options.onError?.(error instanceof Error ? error : new Error(String(error)));
      });
      this.inFlight.add(task);
      void task.finally(() => this.inFlight.delete(task));
    }
  }

  private async answer(raw: string, publisher: Redis): Promise<void> {
    let json: unknown;
    try {
      json = JSON.parse(raw);
    } catch {
      return;
    }
    const request = requestSchema.safeParse(json);
    if (!request.success || request.data.deadline < Date.now()) return;
    const { request_id, instance_id, lines, reply_to } = request.data;
    if (!reply_to.startsWith(`${this.prefix}:instance-logs:reply:`)) return;
    let answer: InstanceLogsAnswer;
    try {
      answer = await this.options.resolve(instance_id, lines);
    } catch (error) {
      answer = { ok: false, code: 'ERROR', message: error instanceof Error ? error.message : String(error) };
    }
    const reply: InstanceLogsReply = { ...answer, request_id };
    await publisher.publish(reply_to, JSON.stringify(reply));
  }
}
