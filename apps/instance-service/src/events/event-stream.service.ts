import { Inject, Injectable, OnApplicationShutdown } from '@nestjs/common';
import type { ServerResponse } from 'node:http';
import { Gauge } from 'prom-client';
import type { AuthenticatedUser } from '@app/auth';
import { APP_CONFIG } from '@app/config';
import { MetricsRegistry } from '@app/metrics';
import type { Config } from '../config/env';
import { TenantAccessPolicy } from '../tenants/tenant-access';
import { EventAudience } from './event-audience';
import { EventStreamHub, StreamEvent } from './event-stream.hub';

/** A client that lets this much pile up unread is cut off (it reconnects with Last-Event-ID). */
const MAX_UNREAD_BYTES = 1024 * 1024;

/**
 * One Server-Sent Events stream per caller: the missed events (or `resync`) first, then every live event the
 * caller may see, in order, and a heartbeat comment every EVENT_STREAM_HEARTBEAT_MS. Closing the connection
 * frees everything (listener, timer, gauge).
 */
@Injectable()
export class EventStreamService implements OnApplicationShutdown {
  private readonly open = new Set<() => void>();
  private readonly connections: Gauge;

  constructor(
    private readonly hub: EventStreamHub,
    private readonly access: TenantAccessPolicy,
    @Inject(APP_CONFIG) private readonly config: Config,
    metrics: MetricsRegistry,
  ) {
    const existing = metrics.registry.getSingleMetric('event_stream_connections');
    this.connections =
      (existing as Gauge | undefined) ??
      new Gauge({
        name: 'event_stream_connections',
        help: 'Open Server-Sent Events streams (GET /api/v1/events/stream)',
        registers: [metrics.registry],
      });
  }

  get openStreams(): number {
    return this.open.size;
  }

  async stream(
    user: AuthenticatedUser,
    lastEventId: string | undefined,
    response: ServerResponse,
  ): Promise<void> {
    const audience = new EventAudience(user, this.access, this.config.EVENT_STREAM_MEMBERSHIP_TTL_MS);
    await audience.load();
    if (response.destroyed) return;

    response.setHeader('content-type', 'text/event-stream; charset=utf-8');
    response.setHeader('cache-control', 'no-cache, no-transform');
    response.setHeader('connection', 'keep-alive');
    response.setHeader('x-accel-buffering', 'no');
    response.writeHead(200);
    let closed = false;
    const write = (text: string) => {
      if (closed) return;
      response.write(text);
      if (response.writableLength > MAX_UNREAD_BYTES) response.destroy();
    };
    const send = (event: StreamEvent) =>
      write(`id: ${event.id}\nevent: ${event.name}\ndata: ${JSON.stringify(event.data)}\n\n`);

    // Replay and subscription in the same tick: nothing is missed or sent twice between them.
    const replay = this.hub.since(lastEventId);
    let queue = Promise.resolve();
    const deliver = (event: StreamEvent) => {
      queue = queue.then(async () => {
        if (!closed && (await audience.allows(event))) send(event);
      });
    };
    const unsubscribe = this.hub.subscribe(deliver);
    const heartbeat = setInterval(() => write(': heartbeat\n\n'), this.config.EVENT_STREAM_HEARTBEAT_MS);
    const close = () => {
      if (closed) return;
      closed = true;
      unsubscribe();
      clearInterval(heartbeat);
      this.open.delete(close);
      this.connections.dec();
      response.end();
    };
    this.open.add(close);
    this.connections.inc();
    response.on('close', close);

    write(`retry: 2000\n\n`);
    if (replay.kind === 'resync') {
      write(`id: ${this.hub.latestId}\nevent: resync\ndata: {}\n\n`);
    } else {
      for (const event of replay.events) deliver(event);
    }
  }

  onApplicationShutdown(): void {
    for (const close of [...this.open]) close();
  }
}
