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

export function mailSettingsFrom(config: unknown): MailEnv {
  const result = mailEnv.safeParse(config ?? {});
  if (!result.success) {
    throw new ConfigValidationError(
      result.error.issues.map(
        (issue) => `${issue.path.join('.')}: ${issue.message} (spread mailEnv from @app/mail into the env schema)`,
      ),
    );
  }
  return result.data;
}
