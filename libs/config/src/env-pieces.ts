import { isIP } from 'node:net';
import { z } from 'zod';

/** Env booleans: only the spellings people actually use, anything else is an error. */
export const envBoolean = (fallback: boolean) =>
  z
    .enum(['true', 'false', '1', '0', 'yes', 'no'])
    .default(fallback ? 'true' : 'false')
    .transform((v) => v === 'true' || v === '1' || v === 'yes');

export const port = (fallback: number) => z.coerce.number().int().min(1).max(65535).default(fallback);

/** `10.0.0.1` or `10.0.0.0/8` (IPv4 or IPv6): what TRUSTED_PROXIES lists. */
export function isIpOrCidr(entry: string): boolean {
  const [address, prefix, ...rest] = entry.split('/');
  const family = isIP(address);
  if (family === 0 || rest.length > 0) return false;
  if (prefix === undefined) return true;
  if (!/^\d{1,3}$/.test(prefix)) return false;
  return Number(prefix) <= (family === 4 ? 32 : 128);
}

/**
 * Comma-separated IPs/CIDRs of the reverse proxies whose X-Forwarded-For is believed. Empty (the default):
 * the client address is always the TCP peer, whatever the headers say.
 */
export const trustedProxiesEnv = z.object({
  TRUSTED_PROXIES: z
    .string()
    .default('')
    .transform((value) =>
      value
        .split(',')
        .map((entry) => entry.trim())
        .filter((entry) => entry !== ''),
    )
    .refine(
      (entries) => entries.every(isIpOrCidr),
      'must be a comma-separated list of IP addresses or CIDRs',
    ),
});

export const commonEnv = z.object({
  NODE_ENV: z.enum(['development', 'production', 'test']).default('development'),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace']).default('info'),
  BASE_DOMAIN: z
    .string()
    .regex(/^[a-z0-9.-]+$/, 'must be a DNS name')
    .default('localhost'),
  SHUTDOWN_TIMEOUT_MS: z.coerce.number().int().min(0).default(10000),
  /** Address the HTTP server listens on: loopback unless told otherwise (the container image sets 0.0.0.0). */
  HOST: z.string().min(1).default('127.0.0.1'),
  TRUSTED_PROXIES: trustedProxiesEnv.shape.TRUSTED_PROXIES,
});

export const postgresEnv = z.object({
  POSTGRES_HOST: z.string().min(1).default('127.0.0.1'),
  POSTGRES_PORT: port(5432),
  /** Only read so the DB-user guard can refuse it; services never receive the admin password. */
  POSTGRES_USER: z.string().optional(),
  DB_SERVICE_USER: z.string().optional(),
  DB_SERVICE_PASSWORD: z.string().optional(),
  DB_POOL_SIZE: z.coerce.number().int().min(1).max(100).default(10),
  DB_RUN_MIGRATIONS: envBoolean(true),
  DB_CONNECT_TIMEOUT_MS: z.coerce.number().int().min(100).default(5000),
});

export const redisEnv = z.object({
  REDIS_URL: z
    .string()
    .regex(/^rediss?:\/\//, 'must be a redis:// or rediss:// URL')
    .default('redis://127.0.0.1:6379'),
});

export type CommonEnv = z.infer<typeof commonEnv>;
export type PostgresEnv = z.infer<typeof postgresEnv> & { POSTGRES_DB: string };
export type RedisEnv = z.infer<typeof redisEnv>;
