/** One Server-Sent Event as received, with the time it arrived. */
export interface ReceivedEvent {
  id: string | undefined;
  event: string;
  data: string;
  receivedAt: number;
}

/**
 * A plain fetch reader of a text/event-stream, as the portal reads it (fetch streaming, not EventSource):
 * parses events and comment lines as they arrive. `close()` aborts the request.
 */
export class SseReader {
  readonly events: ReceivedEvent[] = [];
  readonly comments: string[] = [];
  status = 0;
  headers = new Headers();
  private readonly abort = new AbortController();
  private done: Promise<void> = Promise.resolve();

  static async open(url: string, headers: Record<string, string>): Promise<SseReader> {
    const reader = new SseReader();
    const response = await fetch(url, { headers, signal: reader.abort.signal });
    reader.status = response.status;
    reader.headers = response.headers;
    if (response.ok && response.body) reader.done = reader.consume(response.body);
    else await response.body?.cancel();
    return reader;
  }

  private async consume(body: ReadableStream<Uint8Array>): Promise<void> {
    const decoder = new TextDecoder();
    let pending = '';
    try {
      for await (const chunk of body) {
        pending += decoder.decode(chunk, { stream: true });
        let end: number;
        while ((end = pending.indexOf('\n\n')) >= 0) {
          this.parse(pending.slice(0, end));
          pending = pending.slice(end + 2);
        }
      }
    } catch {
      // aborted or cut off: the events so far stay
    }
  }

  private parse(block: string): void {
    let id: string | undefined;
    let event = 'message';
    const data: string[] = [];
    let fields = 0;
    for (const line of block.split('\n')) {
      if (line.startsWith(':')) {
        this.comments.push(line.slice(1).trim());
        continue;
      }
      const colon = line.indexOf(':');
      const field = colon < 0 ? line : line.slice(0, colon);
      const value = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
      if (field === 'id') id = value;
      else if (field === 'event') event = value;
      else if (field === 'data') data.push(value);
      else continue;
      fields += 1;
    }
    if (fields > 0 && (data.length > 0 || event !== 'message')) {
      this.events.push({ id, event, data: data.join('\n'), receivedAt: Date.now() });
    }
  }

  /** Events named `event` whose JSON data matches `where`. */
  find(event: string, where: (data: Record<string, unknown>) => boolean = () => true): ReceivedEvent[] {
    return this.events.filter(
      (e) => e.event === event && where(JSON.parse(e.data) as Record<string, unknown>),
    );
  }

  async close(): Promise<void> {
    this.abort.abort();
    await this.done;
  }
}
