import { z } from 'zod';
import { authEnv } from '@app/auth';
import { commonEnv, port, postgresEnv, redisEnv } from '@app/config';
import { mailEnv } from '@app/mail';
import { signingKeysEncryptionEnv } from '../signing-keys/signing-key.cipher';

const emptyAsUndefined = (value: unknown) => (value === '' ? undefined : value);
const httpUrl = (fallback: string) =>
  z
    .url({ protocol: /^https?$/, message: 'must be an http(s) URL' })
    .default(fallback)
    .transform((url) => url.replace(/\/+$/, ''));
const seconds = (fallback: number, min = 1) => z.coerce.number().int().min(min).default(fallback);
const limit = (fallback: number) => z.coerce.number().int().min(1).default(fallback);

/** Password hashing cost (argon2id); the defaults are OWASP's minimum recommendation. */
export const passwordHashEnv = z.object({
  ARGON2_MEMORY_KIB: z.coerce.number().int().min(1024).max(1048576).default(19456),
  ARGON2_TIME_COST: z.coerce.number().int().min(1).max(20).default(2),
  ARGON2_PARALLELISM: z.coerce.number().int().min(1).max(16).default(1),
});

/** What the admin CLI needs: its database and the password hasher, nothing else. */
export const cliEnvSchema = z.object({
  ...commonEnv.shape,
  ...postgresEnv.shape,
  ...passwordHashEnv.shape,
  POSTGRES_DB: z.string().min(1).default('auth'),
});

export const envSchema = z
  .object({
    ...commonEnv.shape,
    ...postgresEnv.shape,
    ...redisEnv.shape,
    ...authEnv.shape,
    ...mailEnv.shape,
    ...passwordHashEnv.shape,
    ...signingKeysEncryptionEnv.shape,
    PORT: port(8001),
    POSTGRES_DB: z.string().min(1).default('auth'),
    /** The portal: where the links in emails point (`/verify-email?token=`, `/reset-password?token=`, `/login`). */
    PORTAL_URL: httpUrl('http://localhost:3000'),
    TENANT_SERVICE_URL: httpUrl('http://127.0.0.1:8002'),
    INSTANCE_SERVICE_URL: httpUrl('http://127.0.0.1:8003'),
    BILLING_SERVICE_URL: httpUrl('http://127.0.0.1:8004'),

    ACCESS_TOKEN_TTL_SECONDS: z.coerce.number().int().min(1).max(3600).default(900),
    SESSION_TTL_SECONDS: seconds(7 * 86400, 60),
    SESSION_REMEMBER_ME_TTL_SECONDS: seconds(30 * 86400, 60),
    EMAIL_VERIFICATION_TTL_SECONDS: seconds(86400, 60),
    PASSWORD_RESET_TTL_SECONDS: seconds(3600, 60),

    /** Fixed-window rate limits, per client IP and per email address, counted in Redis. */
    RATE_LIMIT_WINDOW_SECONDS: seconds(60),
    RATE_LIMIT_LOGIN_PER_IP: limit(20),
    RATE_LIMIT_LOGIN_PER_EMAIL: limit(10),
    RATE_LIMIT_REGISTER_PER_IP: limit(10),
    RATE_LIMIT_REGISTER_PER_EMAIL: limit(5),
    /** resend-verification and password-reset, which send mail. */
    RATE_LIMIT_EMAIL_PER_IP: limit(10),
    RATE_LIMIT_EMAIL_PER_EMAIL: limit(3),
    /** LOGIN_LOCKOUT_THRESHOLD failed logins within LOGIN_LOCKOUT_WINDOW_SECONDS lock the account. */
    LOGIN_LOCKOUT_THRESHOLD: limit(5),
    LOGIN_LOCKOUT_WINDOW_SECONDS: seconds(900),
    LOGIN_LOCKOUT_SECONDS: seconds(900),

    /** Optional Supabase Auth provider: on when SUPABASE_URL and SUPABASE_ANON_KEY are both set. */
    SUPABASE_URL: z.preprocess(
      emptyAsUndefined,
      z
        .url({ protocol: /^https?$/, message: 'must be an http(s) URL' })
        .transform((url) => url.replace(/\/+$/, ''))
        .optional(),
    ),
    SUPABASE_ANON_KEY: z.preprocess(emptyAsUndefined, z.string().min(1).optional()),
    SUPABASE_SERVICE_ROLE_KEY: z.preprocess(emptyAsUndefined, z.string().min(1).optional()),
  })
  .superRefine((env, ctx) => {
    if (Boolean(env.SUPABASE_URL) !== Boolean(env.SUPABASE_ANON_KEY)) {
      ctx.addIssue({
        code: 'custom',
        path: [env.SUPABASE_URL ? 'SUPABASE_ANON_KEY' : 'SUPABASE_URL'],
        message: 'SUPABASE_URL and SUPABASE_ANON_KEY go together (set both, or neither)',
      });
    }
  });

export type Config = z.infer<typeof envSchema>;
export type CliConfig = z.infer<typeof cliEnvSchema>;
export type PasswordHashConfig = z.infer<typeof passwordHashEnv>;
