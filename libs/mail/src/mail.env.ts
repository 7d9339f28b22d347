import { z } from 'zod';
import { ConfigValidationError, envBoolean, port } from '@app/config';

const emptyAsUndefined = (value: unknown) => (value === '' ? undefined : value);

/** Spread into the env schema of every app that imports MailModule. */
export const mailEnv = z.object({
  SMTP_HOST: z.string().min(1).default('127.0.0.1'),
  SMTP_PORT: port(1025),
  /** Sender of every message, e.g. `SaaS Odoo <no-reply@example.com>`. */
  SMTP_FROM: z.string().min(3).default('SaaS Odoo <no-reply@saasodoo.local>'),
  SMTP_USER: z.preprocess(emptyAsUndefined, z.string().optional()),
  SMTP_PASSWORD: z.preprocess(emptyAsUndefined, z.string().optional()),
  /** true: TLS from the first byte (port 465); false: plain, upgraded with STARTTLS when offered. */
  SMTP_SECURE: envBoolean(false),
  SMTP_TIMEOUT_MS: z.coerce.number().int().min(100).max(120000).default(10000),
});

export type MailEnv = z.infer<typeof mailEnv>;

export const MAIL_SETTINGS = Symbol('MAIL_SETTINGS');

const REQUIRED = ['SMTP_HOST', 'SMTP_PORT', 'SMTP_FROM', 'SMTP_SECURE', 'SMTP_TIMEOUT_MS'] as const;

/**
 * The mail settings out of the app's validated config. An app whose schema lacks `mailEnv` fails at boot
 * naming what is missing.
 */
export function mailSettingsFrom(config: unknown): MailEnv {
  const values = (config ?? {}) as Partial<MailEnv>;
  const missing = REQUIRED.filter((key) => values[key] === undefined);
  if (missing.length > 0) {
    throw new ConfigValidationError(
      missing.map(
        (key) => `${key}: missing from the app config (spread mailEnv from @app/mail into the env schema)`,
      ),
    );
  }
  return values as MailEnv;
}
