import { z } from 'zod';
import { authEnv } from '@app/auth';
import { commonEnv, envBoolean, port, postgresEnv, redisEnv } from '@app/config';
import { mailEnv } from '@app/mail';

const emptyAsUndefined = (value: unknown) => (value === '' ? undefined : value);
const httpUrl = z
  .url({ protocol: /^https?$/, message: 'must be an http(s) URL' })
  .transform((url) => url.replace(/\/+$/, ''));
const urlWithDefault = (fallback: string) => httpUrl.default(fallback);
const optionalUrl = z.preprocess(emptyAsUndefined, httpUrl.optional());
const optionalSecret = (min = 1) => z.preprocess(emptyAsUndefined, z.string().min(min).optional());
const int = (fallback: number, min = 0, max = 86_400_000) =>
  z.coerce.number().int().min(min).max(max).default(fallback);

/** Path of the Kill Bill push receiver (the callback registered in Kill Bill, plus `?token=`). */
export const KILLBILL_WEBHOOK_PATH = '/api/billing/webhooks/killbill';
/** Path of PayNow's result URL (status updates, form-encoded). */
export const PAYNOW_RESULT_PATH = '/api/billing/webhooks/paynow';

const schema = z.object({
  ...commonEnv.shape,
  ...postgresEnv.shape,
  ...redisEnv.shape,
  ...authEnv.shape,
  ...mailEnv.shape,
  PORT: port(8004),
  POSTGRES_DB: z.string().min(1).default('billing'),

  /** `killbill` (plans, trials, invoices and dunning in Kill Bill) or `none` (self-hosting: no billing). */
  BILLING_PROVIDER: z.enum(['killbill', 'none']).default('killbill'),

  KILLBILL_URL: urlWithDefault('http://127.0.0.1:8080'),
  KILLBILL_USERNAME: z.string().min(1).default('admin'),
  KILLBILL_PASSWORD: optionalSecret(),
  /** The Kill Bill tenant of the platform (created at start when missing). */
  KILLBILL_API_KEY: optionalSecret(),
  KILLBILL_API_SECRET: optionalSecret(),
  /** The `?token=` of the push callback; requests to the receiver without it get 401. */
  KILLBILL_WEBHOOK_SECRET: optionalSecret(24),
  /** What is registered in Kill Bill (without the token). Default: BILLING_SERVICE_URL + the receiver path. */
  KILLBILL_CALLBACK_URL: optionalUrl,
  KILLBILL_TIMEOUT_MS: int(10_000, 100, 120_000),
  /** Retries of idempotent Kill Bill calls after a network error, a timeout or a 502/503/504. */
  KILLBILL_RETRIES: int(2, 0, 10),
  KILLBILL_CATALOG_FILE: z.string().min(1).default('infrastructure/killbill/catalog.xml'),
  KILLBILL_OVERDUE_FILE: z.string().min(1).default('infrastructure/killbill/overdue.xml'),
  KILLBILL_CURRENCY: z
    .string()
    .regex(/^[A-Z]{3}$/)
    .default('USD'),
  /** Bootstrap retries in the background with this backoff while Kill Bill is unreachable. */
  KILLBILL_BOOTSTRAP_RETRY_MIN_MS: int(1_000, 10),
  KILLBILL_BOOTSTRAP_RETRY_MAX_MS: int(30_000, 10),

  PORTAL_URL: urlWithDefault('http://localhost:3000'),
  BILLING_SERVICE_URL: urlWithDefault('http://127.0.0.1:8004'),
  USER_SERVICE_URL: urlWithDefault('http://127.0.0.1:8001'),
  TENANT_SERVICE_URL: urlWithDefault('http://127.0.0.1:8002'),
  INSTANCE_SERVICE_URL: urlWithDefault('http://127.0.0.1:8003'),

  /** Full re-read of every live subscription; 0 turns the timer off (the admin route still works). */
  BILLING_RECONCILE_INTERVAL_SECONDS: int(3_600, 0, 604_800),
  /** The inbox of push notifications: poll interval, parallelism, retries. */
  BILLING_INBOX_POLL_MS: int(1_000, 10, 60_000),
  /** Notifications handled at once; syncs of one account among them are merged (see BILLING_SYNC_CONCURRENCY). */
  BILLING_INBOX_CONCURRENCY: int(64, 1, 512),
  /** Account syncs running at once (each uses two pooled connections while it runs). */
  BILLING_SYNC_CONCURRENCY: int(3, 1, 32),
  BILLING_INBOX_MAX_ATTEMPTS: int(12, 1, 100),
  BILLING_INBOX_RETRY_BASE_MS: int(1_000, 10),
  BILLING_INBOX_RETRY_MAX_MS: int(300_000, 10),
  /** During a burst of notifications processing waits for the burst to end, at most this long. */
  BILLING_INBOX_BURST_DEFER_MS: int(10_000, 0, 600_000),
  /** A notification whose body repeats one processed longer ago than this is processed again. */
  BILLING_INBOX_REDELIVERY_SECONDS: int(600, 0),
  BILLING_MAIL_MAX_ATTEMPTS: int(8, 1, 100),
  /** A subscription whose instance instance-service no longer knows is cancelled once it is this old. */
  BILLING_ORPHAN_GRACE_SECONDS: int(3_600, 0),
  /** Anything still waiting on billing (pending instances, unpaid first invoices) is re-read this often; 0 = off. */
  BILLING_RECHECK_INTERVAL_SECONDS: int(30, 0, 86_400),

  /** `paynow` (EcoCash, OneMoney, cards through PayNow) or `none` (no online payments; operators record them). */
  PAYMENT_GATEWAY: z.enum(['paynow', 'none']).default('none'),
  PAYNOW_URL: urlWithDefault('https://www.paynow.co.zw'),
  PAYNOW_INTEGRATION_ID: optionalSecret(),
  PAYNOW_INTEGRATION_KEY: optionalSecret(),
  /** The merchant account's email; in test mode PayNow requires it as `authemail`. */
  PAYNOW_MERCHANT_EMAIL: z.preprocess(emptyAsUndefined, z.email().optional()),
  /** Public URL of our result endpoint. Default: BILLING_SERVICE_URL + /api/billing/webhooks/paynow. */
  PAYNOW_RESULT_URL: optionalUrl,
  /**
   * Where the customer lands after a web payment; `{payment_id}` stands for the payment's id. Default:
   * PORTAL_URL + /payments/{payment_id} (the portal's page of that payment).
   */
  PAYNOW_RETURN_URL: optionalUrl,
  /** true: `authemail` is PAYNOW_MERCHANT_EMAIL (an integration in test mode); false: the customer's email. */
  PAYNOW_TEST_MODE: envBoolean(false),
  PAYNOW_TIMEOUT_MS: int(15_000, 100, 120_000),
  /** A payment still unpaid this long after it started ends as cancelled. */
  PAYMENT_EXPIRY_MINUTES: int(30, 1, 10_080),
  /** The background poller asks the gateway after PAYMENT_POLL_MIN_MS, then backs off up to PAYMENT_POLL_MAX_MS. */
  PAYMENT_POLL_MIN_MS: int(5_000, 10, 3_600_000),
  PAYMENT_POLL_MAX_MS: int(60_000, 10, 3_600_000),
  /** How often the poller and the Kill Bill outbox look for due work. */
  PAYMENT_WORK_POLL_MS: int(1_000, 10, 60_000),
  /** During a burst of PayNow status updates their processing waits for the burst to end, at most this long. */
  PAYMENT_RESULT_BURST_DEFER_MS: int(10_000, 0, 600_000),
});

export const envSchema = schema
  .superRefine((env, ctx) => {
    if (env.PAYMENT_GATEWAY !== 'none' && env.BILLING_PROVIDER !== 'killbill') {
      ctx.addIssue({
        code: 'custom',
        path: ['PAYMENT_GATEWAY'],
        message: 'payments settle Kill Bill invoices: needs BILLING_PROVIDER=killbill',
      });
    }
    if (env.BILLING_PROVIDER !== 'killbill') return;
    const required = [
      'KILLBILL_PASSWORD',
      'KILLBILL_API_KEY',
      'KILLBILL_API_SECRET',
      'KILLBILL_WEBHOOK_SECRET',
    ] as const;
    for (const key of required) {
      if (!env[key]) {
        ctx.addIssue({ code: 'custom', path: [key], message: 'required when BILLING_PROVIDER=killbill' });
      }
    }
    if (env.PAYMENT_GATEWAY === 'paynow') {
      for (const key of [
        'PAYNOW_INTEGRATION_ID',
        'PAYNOW_INTEGRATION_KEY',
        'PAYNOW_MERCHANT_EMAIL',
      ] as const) {
        if (!env[key]) {
          ctx.addIssue({ code: 'custom', path: [key], message: 'required when PAYMENT_GATEWAY=paynow' });
        }
      }
    }
    if (env.PAYMENT_POLL_MAX_MS < env.PAYMENT_POLL_MIN_MS) {
      ctx.addIssue({
        code: 'custom',
        path: ['PAYMENT_POLL_MAX_MS'],
        message: 'must not be below PAYMENT_POLL_MIN_MS',
      });
    }
    if (env.BILLING_SYNC_CONCURRENCY * 2 + 2 > env.DB_POOL_SIZE) {
      ctx.addIssue({
        code: 'custom',
        path: ['BILLING_SYNC_CONCURRENCY'],
        message: `needs DB_POOL_SIZE >= 2 * BILLING_SYNC_CONCURRENCY + 2 (DB_POOL_SIZE is ${env.DB_POOL_SIZE})`,
      });
    }
    if (env.KILLBILL_BOOTSTRAP_RETRY_MAX_MS < env.KILLBILL_BOOTSTRAP_RETRY_MIN_MS) {
      ctx.addIssue({
        code: 'custom',
        path: ['KILLBILL_BOOTSTRAP_RETRY_MAX_MS'],
        message: 'must not be below KILLBILL_BOOTSTRAP_RETRY_MIN_MS',
      });
    }
  })
  .transform((env) => ({
    ...env,
    KILLBILL_CALLBACK_URL: env.KILLBILL_CALLBACK_URL ?? `${env.BILLING_SERVICE_URL}${KILLBILL_WEBHOOK_PATH}`,
    PAYNOW_RESULT_URL: env.PAYNOW_RESULT_URL ?? `${env.BILLING_SERVICE_URL}${PAYNOW_RESULT_PATH}`,
    PAYNOW_RETURN_URL: env.PAYNOW_RETURN_URL ?? `${env.PORTAL_URL}/payments/{payment_id}`,
  }));

export type Config = z.infer<typeof envSchema>;
