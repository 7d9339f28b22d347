import { Inject, Injectable, OnModuleDestroy } from '@nestjs/common';
import axios, { AxiosInstance, isAxiosError } from 'axios';
import http from 'node:http';
import { z } from 'zod';
import { INTERNAL_TOKEN_HEADER, InternalCallError } from '@app/auth';
import { APP_CONFIG } from '@app/config';
import type { Config } from '../config/env';

type Method = 'GET' | 'PUT' | 'POST';

/**
 * Calls to the other services' `/internal/*` API with the service credential. (@app/auth's
 * InternalHttpClient has no PUT, which instance-service's desired-state and limits routes need.)
 * Answers are validated against the caller's schema; `null` means 404 when the caller allows it.
 */
@Injectable()
export class InternalApiClient implements OnModuleDestroy {
  private readonly http: AxiosInstance;
  private readonly agent = new http.Agent({ keepAlive: true, maxSockets: 16 });

  constructor(@Inject(APP_CONFIG) config: Config) {
    this.http = axios.create({
      timeout: Math.max(config.INTERNAL_HTTP_TIMEOUT_MS, 5000),
      headers: { [INTERNAL_TOKEN_HEADER]: config.INTERNAL_API_TOKEN, accept: 'application/json' },
      maxRedirects: 0,
      proxy: false,
      validateStatus: () => true,
      httpAgent: this.agent,
    });
  }

  onModuleDestroy(): void {
    this.agent.destroy();
  }

  async call<T>(
    method: Method,
    baseUrl: string,
    path: string,
    schema: z.ZodType<T>,
    options: { body?: unknown; allowNotFound: true },
  ): Promise<T | null>;
  async call<T>(
    method: Method,
    baseUrl: string,
    path: string,
    schema: z.ZodType<T>,
    options?: { body?: unknown; allowNotFound?: false },
  ): Promise<T>;
  async call<T>(
    method: Method,
    baseUrl: string,
    path: string,
    schema: z.ZodType<T>,
    options: { body?: unknown; allowNotFound?: boolean } = {},
  ): Promise<T | null> {
    const url = `${baseUrl.replace(/\/+$/, '')}${path}`;
    let response;
    try {
      response = await this.http.request({ method, url, data: options.body });
    } catch (error) {
      const timedOut = isAxiosError(error) && (error.code === 'ECONNABORTED' || error.code === 'ETIMEDOUT');
      throw new InternalCallError(
        url,
        timedOut ? 'timeout' : 'unreachable',
        error instanceof Error ? error.message : String(error),
      );
    }
    if (response.status === 404 && options.allowNotFound) return null;
    if (response.status < 200 || response.status >= 300) {
      throw InternalCallError.fromStatus(url, response.status, response.data);
    }
    const parsed = schema.safeParse(response.data);
    if (!parsed.success) {
      throw new InternalCallError(url, 'invalid_response', `unexpected answer: ${parsed.error.message}`);
    }
    return parsed.data;
  }
}
