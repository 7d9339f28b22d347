import type { QueryClient } from '@tanstack/react-query';
import { getAccessToken, refreshSession } from './client';

/** Which cached queries each event makes stale: the event is only a hint, the data is re-fetched. */
const INVALIDATES: Record<string, string[][]> = {
  // A resumed or suspended instance often follows a billing change: billing views re-read too.
  'instance.status_changed': [['instances'], ['tenants'], ['me'], ['billing']],
  'tenant.suspended': [['tenants'], ['instances'], ['me'], ['admin']],
  'tenant.activated': [['tenants'], ['instances'], ['me'], ['admin']],
  'subscription.changed': [['billing'], ['instances'], ['tenants']],
  'payment.changed': [['billing'], ['instances'], ['tenants']],
};

export interface StreamState {
  connected: boolean;
}

/**
 * GET /instance/api/v1/events/stream read with fetch (EventSource cannot send a bearer token). Reconnects with
 * Last-Event-ID after a drop; on `resync` (or a reconnect without one) everything is re-fetched.
 */
export function followEvents(queries: QueryClient, onState: (state: StreamState) => void): () => void {
  const stop = new AbortController();
  let lastEventId = '';

  const dispatch = (event: string, id: string) => {
    if (id) lastEventId = id;
    if (event === 'resync') {
      void queries.invalidateQueries();
      return;
    }
    for (const key of INVALIDATES[event] ?? []) void queries.invalidateQueries({ queryKey: key });
  };

  const connect = async (): Promise<void> => {
    const token = getAccessToken();
    if (!token) throw new Error('no session');
    const headers: Record<string, string> = { authorization: `Bearer ${token}`, accept: 'text/event-stream' };
    if (lastEventId) headers['last-event-id'] = lastEventId;
    const res = await fetch('/instance/api/v1/events/stream', { headers, signal: stop.signal });
    if (res.status === 401) {
      await refreshSession();
      throw new Error('stream unauthorised');
    }
    if (!res.ok || !res.body) throw new Error(`stream answered ${res.status}`);
    onState({ connected: true });
    const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
    let buffer = '';
    let event = 'message';
    let id = '';
    let data = '';
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      buffer += value;
      let newline: number;
      while ((newline = buffer.indexOf('\n')) >= 0) {
        const line = buffer.slice(0, newline).replace(/\r$/, '');
        buffer = buffer.slice(newline + 1);
        if (line === '') {
          if (data || event !== 'message') dispatch(event, id);
          event = 'message';
          id = '';
          data = '';
        } else if (line.startsWith('event:')) event = line.slice(6).trim();
        else if (line.startsWith('id:')) id = line.slice(3).trim();
        else if (line.startsWith('data:')) data += line.slice(5).trim();
      }
    }
  };

  void (async () => {
    let delay = 500;
    while (!stop.signal.aborted) {
      try {
        await connect();
        delay = 500;
      } catch {
        /* dropped: retry below */
      }
      onState({ connected: false });
      if (stop.signal.aborted) break;
      await new Promise((done) => setTimeout(done, delay));
      delay = Math.min(delay * 2, 10_000);
    }
  })();
  return () => stop.abort();
}
