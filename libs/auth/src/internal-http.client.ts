import { Inject, Injectable, OnApplicationShutdown } from '@nestjs/common';
import { Agent, request } from 'undici';
import { z } from 'zod';
import { AUTH_SETTINGS } from './auth.env';
import type { AuthSettings } from './auth.env';
import { INTERNAL_TOKEN_HEADER } from './auth.types';

export type InternalCallFailure = 'timeout' | 'unreachable' | 'http_status' | 'invalid_response';

/** The code and message of another service's error envelope, when its answer carried one. */
export interface InternalErrorAnswer {
  code: string;
  message: string;
}

const errorAnswerSchema = z.object({ code: z.string().min(1), message: z.string() });

/** A call to another service's internal API failed; `reason` says how. */
export class InternalCallError extends Error {
  constructor(
    readonly url: string,
    readonly reason: InternalCallFailure,
    message: string,
    readonly status?: number,
    readonly answer?: InternalErrorAnswer,
  ) {
    super(`${url}: ${message}`);
    this.name = 'InternalCallError';
  }

  /** For a non-2xx answer: the error with the envelope's code and message, if the body is one. */
  static fromStatus(url: string, status: number, body: unknown): InternalCallError {
    const parsed = errorAnswerSchema.safeParse(body);
    return new InternalCallError(
      url,
      'http_status',
      `answered ${status}${parsed.success ? ` ${parsed.data.code}` : ''}`,
      status,
      parsed.success ? parsed.data : undefined,
    );
  }
}

export interface InternalRequestOptions {
  /** Overrides INTERNAL_HTTP_TIMEOUT_MS for this call. */
  timeoutMs?: number;
  /** Propagated as x-request-id so the call can be followed across services. */
  requestId?: string;
}

/**
 * Service-to-service calls to `/internal/*`: the service credential on every request, short timeouts, no
 * proxy, no redirects, and the answer validated against the caller's schema.
 */
@Injectable()
export class InternalHttpClient implements OnApplicationShutdown {
  // undici with keep-alive: GET /auth/me makes three internal calls per request, and a new TCP connection for
  // each (or axios's per-request overhead) was most of its cost. undici never follows redirects or reads
  // proxy settings from the environment on its own.
  private readonly agent = new Agent({ keepAliveTimeout: 30_000, connections: 64 });
  private readonly timeoutMs: number;
  private readonly headers: Record<string, string>;

  constructor(@Inject(AUTH_SETTINGS) settings: AuthSettings) {
    this.timeoutMs = settings.internalHttpTimeoutMs;
    this.headers = { [INTERNAL_TOKEN_HEADER]: settings.internalApiToken, accept: 'application/json' };
  }

  async onApplicationShutdown(): Promise<void> {
    await this.agent.close();
  }

  get<T>(
    baseUrl: string,
    path: string,
    schema: z.ZodType<T>,
    options: InternalRequestOptions = {},
  ): Promise<T> {
    return this.request('GET', baseUrl, path, undefined, schema, options);
  }

  post<T>(
    baseUrl: string,
    path: string,
    body: unknown,
    schema: z.ZodType<T>,
    options: InternalRequestOptions = {},
  ): Promise<T> {
    return this.request('POST', baseUrl, path, body, schema, options);
  }

  put<T>(
    baseUrl: string,
    path: string,
    body: unknown,
    schema: z.ZodType<T>,
    options: InternalRequestOptions = {},
  ): Promise<T> {
    return this.request('PUT', baseUrl, path, body, schema, options);
  }

  /** DELETE; the answer body is ignored (typically 204). */
  async delete(baseUrl: string, path: string, options: InternalRequestOptions = {}): Promise<void> {
    await this.request('DELETE', baseUrl, path, undefined, z.unknown(), options);
  }

  private async request<T>(
    method: 'GET' | 'POST' | 'PUT' | 'DELETE',
    baseUrl: string,
    path: string,
    body: unknown,
    schema: z.ZodType<T>,
    options: InternalRequestOptions,
  ): Promise<T> {
    const url = `${baseUrl.replace(/\/+$/, '')}${path}`;
    const timeoutMs = options.timeoutMs ?? this.timeoutMs;
    const signal = AbortSignal.timeout(timeoutMs);
    let status: number;
    let data: unknown;
    try {
      const response = await request(url, {
        method,
        dispatcher: this.agent,
        signal,
        headers: {
          ...this.headers,
          ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
          ...(options.requestId ? { 'x-request-id': options.requestId } : {}),
        },
        body: body !== undefined ? JSON.stringify(body) : undefined,
      });
      status = response.statusCode;
      const text = await response.body.text();
      try {
        data = text ? JSON.parse(text) : undefined;
      } catch {
        data = text;
      }
    } catch (error) {
      const timedOut = signal.aborted;
      throw new InternalCallError(
        url,
        timedOut ? 'timeout' : 'unreachable',
        timedOut ? `no answer in ${timeoutMs} ms` : error instanceof Error ? error.message : String(error),
      );
    }
    if (status < 200 || status >= 300) {
      throw InternalCallError.fromStatus(url, status, data);
    }
    const parsed = schema.safeParse(data);
    if (!parsed.success) {
      throw new InternalCallError(url, 'invalid_response', `unexpected answer: ${parsed.error.message}`);
    }
    return parsed.data;
  }
}
