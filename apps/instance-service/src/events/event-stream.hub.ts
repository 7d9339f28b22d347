import { Inject, Injectable } from '@nestjs/common';
import { APP_CONFIG } from '@app/config';
import type { DomainEventName } from '@app/contracts';
import type { Config } from '../config/env';

/** One domain event as the stream sends it: `id` is monotonic within this process (and across its restarts). */
export interface StreamEvent {
  id: number;
  name: DomainEventName;
  data: { tenant_id: string } & Record<string, unknown>;
}

export type Replay = { kind: 'events'; events: StreamEvent[] } | { kind: 'resync' };

type Listener = (event: StreamEvent) => void;

/**
 * The in-process fan-out of domain events to the open streams, with a ring buffer of the last
 * EVENT_STREAM_BUFFER_SIZE events for `Last-Event-ID` resume. Ids start at the boot time in microseconds, so
 * an id from before a restart is older than anything buffered (the client is told to resync), never mistaken
 * for a newer event.
 */
@Injectable()
export class EventStreamHub {
  private readonly buffer: StreamEvent[] = [];
  private readonly listeners = new Set<Listener>();
  private lastId = Date.now() * 1000;
  private readonly capacity: number;

  constructor(@Inject(APP_CONFIG) config: Config) {
    this.capacity = config.EVENT_STREAM_BUFFER_SIZE;
  }

  get subscriberCount(): number {
    return this.listeners.size;
  }

  get latestId(): number {
    return this.lastId;
  }

  append(name: DomainEventName, data: StreamEvent['data']): StreamEvent {
    const event = { id: ++this.lastId, name, data };
    this.buffer.push(event);
    if (this.buffer.length > this.capacity) this.buffer.shift();
    for (const listener of this.listeners) listener(event);
    return event;
  }

  /**
   * What a client that last saw `lastEventId` missed: the buffered events after it, or `resync` when the id
   * is not one of ours or older than the buffer (events were dropped since).
   */
  since(lastEventId: string | undefined): Replay {
    if (lastEventId === undefined || lastEventId === '') return { kind: 'events', events: [] };
    if (!/^\d{1,20}$/.test(lastEventId)) return { kind: 'resync' };
    const id = Number(lastEventId);
    if (id > this.lastId) return { kind: 'resync' };
    const oldest = this.buffer[0]?.id ?? this.lastId + 1;
    if (id < oldest - 1) return { kind: 'resync' };
    return { kind: 'events', events: this.buffer.filter((event) => event.id > id) };
  }

  /** Calls `listener` for every event appended from now on; returns the unsubscribe. */
  subscribe(listener: Listener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
}
