import { setTimeout as sleep } from 'node:timers/promises';
import { HOST_MODE_APPS, HostModeApp, HostPlatform } from '@app/testing';

export interface Reply<T = Record<string, unknown>> {
  status: number;
  body: T;
}

/** A request the platform answered 2xx: what it promised, checked at the end. */
export interface AcceptedRequest {
  at: number;
  what: 'create' | 'action';
  instanceId: string;
  action?: string;
  jobId?: string;
  parameters?: Record<string, unknown>;
}

/**
 * The workload's HTTP client. One attempt per call (a network error is `null`, as a real client sees a reset);
 * callers retry as a customer's tooling would. Every 2xx that promises an effect is recorded.
 */
export class ChaosClient {
  token = '';
  readonly accepted: AcceptedRequest[] = [];
  private readonly started = Date.now();

  constructor(
    readonly platform: HostPlatform,
    private readonly internalToken: string,
  ) {}

  elapsed(): number {
    return (Date.now() - this.started) / 1000;
  }

  record(request: Omit<AcceptedRequest, 'at'>): void {
    this.accepted.push({ ...request, at: this.elapsed() });
  }

  async call<T = Record<string, unknown>>(
    app: HostModeApp,
    method: string,
    path: string,
    options: { body?: unknown; internal?: boolean; timeoutMs?: number; token?: string } = {},
  ): Promise<Reply<T> | null> {
    const token = options.token ?? this.token;
    try {
      const res = await fetch(`${this.platform.url(app)}${path}`, {
        method,
        headers: {
          ...(options.body !== undefined ? { 'content-type': 'application/json' } : {}),
          ...(token && !options.internal ? { authorization: `Bearer ${token}` } : {}),
          ...(options.internal ? { 'x-internal-token': this.internalToken } : {}),
        },
        body: options.body !== undefined ? JSON.stringify(options.body) : undefined,
        signal: AbortSignal.timeout(options.timeoutMs ?? 15_000),
      });
      const text = await res.text();
      let body: unknown = {};
      try {
        body = text ? JSON.parse(text) : {};
      } catch {
        body = { text };
      }
      return { status: res.status, body: body as T };
    } catch {
      return null;
    }
  }

  /** Retries through network errors and 5xx (a restarting service) until another answer, or the deadline. */
  async steady<T = Record<string, unknown>>(
    app: HostModeApp,
    method: string,
    path: string,
    options: { body?: unknown; internal?: boolean; timeoutMs?: number; token?: string } = {},
  ): Promise<Reply<T>> {
    const deadline = Date.now() + (options.timeoutMs ?? 180_000);
    for (let delay = 250; ; delay = Math.min(delay * 2, 3000)) {
      const reply = await this.call<T>(app, method, path, options);
      if (reply && reply.status < 500) return reply;
      if (Date.now() > deadline)
        throw new Error(`${method} ${path}: ${reply ? `answered ${reply.status}` : 'unreachable'}`);
      await sleep(delay);
    }
  }

  async readiness(): Promise<Record<HostModeApp, number>> {
    const entries = await Promise.all(
      HOST_MODE_APPS.map(async (app) => {
        const res = await fetch(`${this.platform.url(app)}/health/ready`, {
          signal: AbortSignal.timeout(5000),
        }).catch(() => null);
        return [app, res?.status ?? 0] as const;
      }),
    );
    return Object.fromEntries(entries) as Record<HostModeApp, number>;
  }

  async allReady(): Promise<boolean> {
    return Object.values(await this.readiness()).every((status) => status === 200);
  }
}
