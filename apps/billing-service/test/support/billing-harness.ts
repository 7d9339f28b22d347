/**
 * Boots the billing service for tests: its real AppModule (as main.ts does), listening on 127.0.0.1 behind a
 * TcpProxy whose port is the registered Kill Bill callback (stop the proxy and the receiver is "down" for
 * Kill Bill), pointed at a Kill Bill emulator and at whatever plays the other services.
 */
import { resolve } from 'node:path';
import { Client } from 'pg';
import { DataSource } from 'typeorm';
import { requireEnv, serviceTestEnv, ServiceHarness, startService, TcpProxy } from '@app/testing';
import { AppModule } from '../../src/app.module';
import { KILLBILL_WEBHOOK_PATH } from '../../src/config/env';
import { BillingMailDispatcher } from '../../src/notifications/billing-mail.dispatcher';
import { InboxProcessor } from '../../src/webhooks/inbox-processor.service';
import { freePort } from '@app/testing';
export { freePort };

export const WEBHOOK_SECRET = 'test-webhook-secret-0123456789-abcdef';
export const KB_API_KEY = 'saasodoo-test';
export const KB_API_SECRET = 'saasodoo-test-secret';
export const REPO_ROOT = resolve(__dirname, '../../../..');

export interface BillingEnvOptions {
  killbillUrl: string;
  /** Base URL of the other services (the stand-in, or the real ones). */
  servicesUrl?: string;
  instanceServiceUrl?: string;
  tenantServiceUrl?: string;
  userServiceUrl?: string;
  smtpPort?: number;
  callbackPort?: number;
  overrides?: Record<string, string>;
}

export function billingEnv(options: BillingEnvOptions): Record<string, string> {
  const services = options.servicesUrl ?? 'http://127.0.0.1:1';
  return serviceTestEnv('billing-service', {
    BILLING_PROVIDER: 'killbill',
    KILLBILL_URL: options.killbillUrl,
    KILLBILL_USERNAME: 'admin',
    KILLBILL_PASSWORD: 'password',
    KILLBILL_API_KEY: KB_API_KEY,
    KILLBILL_API_SECRET: KB_API_SECRET,
    KILLBILL_WEBHOOK_SECRET: WEBHOOK_SECRET,
    KILLBILL_CALLBACK_URL: `http://127.0.0.1:${options.callbackPort ?? 1}${KILLBILL_WEBHOOK_PATH}`,
    KILLBILL_CATALOG_FILE: resolve(REPO_ROOT, 'infrastructure/killbill/catalog.xml'),
    KILLBILL_OVERDUE_FILE: resolve(REPO_ROOT, 'infrastructure/killbill/overdue.xml'),
    KILLBILL_TIMEOUT_MS: '3000',
    KILLBILL_RETRIES: '1',
    KILLBILL_BOOTSTRAP_RETRY_MIN_MS: '100',
    KILLBILL_BOOTSTRAP_RETRY_MAX_MS: '400',
    INTERNAL_API_TOKEN: requireEnv('INTERNAL_API_TOKEN'),
    INSTANCE_SERVICE_URL: options.instanceServiceUrl ?? services,
    TENANT_SERVICE_URL: options.tenantServiceUrl ?? services,
    USER_SERVICE_URL: options.userServiceUrl ?? services,
    SMTP_HOST: '127.0.0.1',
    SMTP_PORT: String(options.smtpPort ?? 1),
    SMTP_FROM: 'billing@saasodoo.test',
    SMTP_TIMEOUT_MS: '2000',
    PORTAL_URL: 'http://app.saasodoo.test',
    BILLING_RECONCILE_INTERVAL_SECONDS: '0',
    BILLING_INBOX_POLL_MS: '100',
    BILLING_INBOX_RETRY_BASE_MS: '50',
    BILLING_INBOX_RETRY_MAX_MS: '500',
    ...options.overrides,
  });
}

export interface BillingUnderTest {
  harness: ServiceHarness;
  /** Where the service really listens. */
  url: string;
  /** The Kill Bill callback's proxy (stop() = the receiver is down for Kill Bill). */
  proxy: TcpProxy;
  callbackPort: number;
  dataSource: DataSource;
  /** Processes every due notification and sends due mail. */
  drain(): Promise<void>;
  close(): Promise<void>;
}

/** Starts billing with `env` (from billingEnv, whose callbackPort must be `callbackPort`), listening. */
export async function startBilling(
  env: Record<string, string>,
  callbackPort: number,
): Promise<BillingUnderTest> {
  const harness = await startService(AppModule, 'billing-service', env);
  await harness.app.listen(0, '127.0.0.1');
  const address = harness.app.getHttpServer().address();
  const port = typeof address === 'object' && address ? address.port : 0;
  const proxy = new TcpProxy('127.0.0.1', port);
  await proxy.start(callbackPort);
  return {
    harness,
    url: `http://127.0.0.1:${port}`,
    proxy,
    callbackPort,
    dataSource: harness.app.get(DataSource),
    drain: async () => {
      await harness.app.get(InboxProcessor).drainNow();
      await harness.app.get(BillingMailDispatcher).drainNow();
    },
    close: async () => {
      await proxy.stop();
      await harness.close();
    },
  };
}

const TABLES = [
  'billing_accounts',
  'subscriptions',
  'customer_trials',
  'killbill_inbox',
  'mail_outbox',
  'killbill_config',
  'payment_settlements',
  'paynow_inbox',
  'payments',
];

/** Empties the billing test database (tables kept) before a suite boots billing. */
export async function resetBillingDatabase(): Promise<void> {
  const env = serviceTestEnv('billing-service');
  const client = new Client({
    host: env.POSTGRES_HOST,
    port: Number(env.POSTGRES_PORT),
    database: env.POSTGRES_DB,
    user: env.DB_SERVICE_USER,
    password: env.DB_SERVICE_PASSWORD,
  });
  await client.connect();
  try {
    const { rows } = await client.query<{ name: string }>(
      `SELECT tablename AS name FROM pg_tables WHERE schemaname = 'public' AND tablename = ANY($1)`,
      [TABLES],
    );
    if (rows.length > 0) {
      await client.query(`TRUNCATE ${rows.map((r) => r.name).join(', ')} RESTART IDENTITY`);
    }
  } finally {
    await client.end();
  }
}

/** Polls `probe` until it returns a value that is not undefined/false, or fails after `timeoutMs`. */
export async function waitFor<T>(
  probe: () => Promise<T | undefined | false> | T | undefined | false,
  description: string,
  timeoutMs = 10_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await probe();
      if (value !== undefined && value !== false) return value;
    } catch (error) {
      last = error;
    }
    if (Date.now() > deadline) {
      throw new Error(`timed out waiting for ${description}${last ? `: ${String(last)}` : ''}`);
    }
    await new Promise((r) => setTimeout(r, 25));
  }
}

export function internalHeaders(): Record<string, string> {
  return { 'x-internal-token': requireEnv('INTERNAL_API_TOKEN') };
}
