import { InternalCallError, InternalRequestOptions } from '@app/auth';
import type { Config } from '../config/env';

/** Billing's calls to the other services wait at least 5 s (they run in the background, never on a login path). */
export function internalCallOptions(config: Config): InternalRequestOptions {
  return { timeoutMs: Math.max(config.INTERNAL_HTTP_TIMEOUT_MS, 5000) };
}

/** The answer, or null when the other service answered 404 (anything else still throws). */
export async function orNotFound<T>(call: Promise<T>): Promise<T | null> {
  try {
    return await call;
  } catch (error) {
    if (error instanceof InternalCallError && error.status === 404) return null;
    throw error;
  }
}
