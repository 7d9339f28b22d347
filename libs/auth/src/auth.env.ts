import { z } from 'zod';
import { ConfigValidationError } from '@app/config';

/** Spread into every app's env schema that imports AuthModule or calls another service's /internal API. */
export const authEnv = z.object({
  /** Service credential for `/internal/*` routes, shared by the services (never by customers). */
  INTERNAL_API_TOKEN: z.string().min(32, 'must be at least 32 characters'),
  /** Namespace of the auth keys in Redis (`<prefix>jwks`, `<prefix>session:<sid>`). */
  AUTH_REDIS_PREFIX: z
    .string()
    .regex(/^[A-Za-z0-9:_-]*$/, 'letters, digits, ":", "_" and "-" only')
    .default('auth:'),
  /** How long a verifier trusts its in-memory copy of the public keys before re-reading Redis. */
  AUTH_JWKS_CACHE_SECONDS: z.coerce.number().int().min(1).max(3600).default(60),
  /** Timeout of one call to another service's internal API. */
  INTERNAL_HTTP_TIMEOUT_MS: z.coerce.number().int().min(50).max(30000).default(1500),
});

export type AuthEnv = z.infer<typeof authEnv>;

export interface AuthSettings {
  internalApiToken: string;
  redisPrefix: string;
  jwksCacheMs: number;
  internalHttpTimeoutMs: number;
}

export const AUTH_SETTINGS = Symbol('AUTH_SETTINGS');

/**
 * Reads the auth settings out of the app's validated config. An app whose schema does not include
 * `authEnv` fails here at boot, naming what is missing, instead of failing on the first request.
 */
export function authSettingsFrom(config: unknown): AuthSettings {
  const values = (config ?? {}) as Partial<AuthEnv>;
  const keys = Object.keys(authEnv.shape) as (keyof AuthEnv)[];
  const missing = keys.filter((key) => values[key] === undefined);
  if (missing.length > 0) {
    throw new ConfigValidationError(
      missing.map(
        (key) => `${key}: missing from the app config (spread authEnv from @app/auth into the env schema)`,
      ),
    );
  }
  const env = values as AuthEnv;
  return {
    internalApiToken: env.INTERNAL_API_TOKEN,
    redisPrefix: env.AUTH_REDIS_PREFIX,
    jwksCacheMs: env.AUTH_JWKS_CACHE_SECONDS * 1000,
    internalHttpTimeoutMs: env.INTERNAL_HTTP_TIMEOUT_MS,
  };
}
