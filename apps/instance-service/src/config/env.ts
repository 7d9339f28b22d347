import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { z } from 'zod';
import { authEnv } from '@app/auth';
import { commonEnv, port, postgresEnv, redisEnv } from '@app/config';
import { backupDownloadEnv, instanceSecretsEnv } from '@app/instance-data';
import { queueEnv } from '@app/queue';

const httpUrl = (fallback: string) =>
  z
    .url({ protocol: /^https?$/, message: 'must be an http(s) URL' })
    .default(fallback)
    .transform((url) => url.replace(/\/+$/, ''));

export const envSchema = z.object({
  ...commonEnv.shape,
  ...postgresEnv.shape,
  ...redisEnv.shape,
  ...authEnv.shape,
  /** INSTANCE_SECRETS_KEY: the generated Odoo admin password is stored only encrypted, for the worker. */
  ...instanceSecretsEnv.shape,
  /** QUEUE_PREFIX: must be the worker's. */
  ...queueEnv.shape,
  /** BACKUP_DOWNLOAD_SECRET: signs backup download links (the worker verifies them). */
  ...backupDownloadEnv.shape,
  PORT: port(8003),
  POSTGRES_DB: z.string().min(1).default('instance'),
  /** tenant-service's internal API: membership and role lookup, quota reservations. */
  TENANT_SERVICE_URL: httpUrl('http://127.0.0.1:8002'),
  /** billing-service's internal API: one subscription per instance when BILLING_PROVIDER=killbill. */
  BILLING_SERVICE_URL: httpUrl('http://127.0.0.1:8004'),
  /** none: instances are entitled at once (self-hosting); killbill: billing-service entitles them. */
  BILLING_PROVIDER: z.enum(['killbill', 'none']).default('none'),
  /** GET /api/v1/events/stream: heartbeat comment interval, Last-Event-ID buffer, membership cache. */
  EVENT_STREAM_HEARTBEAT_MS: z.coerce.number().int().min(100).default(15000),
  EVENT_STREAM_BUFFER_SIZE: z.coerce.number().int().min(1).default(1000),
  EVENT_STREAM_MEMBERSHIP_TTL_MS: z.coerce.number().int().min(0).default(30000),
  /** Manual backups a customer may ask for per instance and UTC day (429 BACKUP_DAILY_LIMIT beyond). */
  MANUAL_BACKUPS_PER_DAY: z.coerce.number().int().min(1).default(5),
  /**
   * Public base of the worker's `/backups/{id}/download` (the worker holds the files): its PORT in host mode,
   * Traefik's `/downloads` route on the API host in compose. Empty: the host-mode default.
   */
  BACKUP_DOWNLOAD_URL: z.preprocess((v) => (v === '' ? undefined : v), httpUrl('http://127.0.0.1:8005')),
  /** How long a backup download link works. */
  BACKUP_DOWNLOAD_TTL_SECONDS: z.coerce.number().int().min(10).max(86_400).default(300),
  /**
   * The worker's own HTTP address as instance-service reaches it (compose: http://instance-worker:5000): an
   * imported archive is streamed to its `/imports/{id}`, signed with BACKUP_DOWNLOAD_SECRET.
   */
  INSTANCE_WORKER_URL: httpUrl('http://127.0.0.1:8005'),
  /**
   * Largest archive `POST /api/v1/instances/import` takes, whatever the plan: an import may not exceed the new
   * instance's storage limit (the plan's ceiling) nor this. Beyond → 413 IMPORT_TOO_LARGE.
   */
  IMPORT_MAX_BYTES: z.coerce
    .number()
    .int()
    .min(1024)
    .default(50 * 1024 ** 3),
  /** Where an upload is written while it is validated; deleted once it is on the worker (or refused). */
  IMPORT_TMP_DIR: z.string().min(1).default(join(tmpdir(), 'saasodoo-imports')),
});

export type Config = z.infer<typeof envSchema>;
