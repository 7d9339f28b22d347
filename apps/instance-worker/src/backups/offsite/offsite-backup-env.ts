import { z } from 'zod';
import { envBoolean } from '@app/config';

/**
 * The off-host store of backup copies: any S3-compatible service (AWS S3, MinIO, Ceph RGW, Backblaze B2,
 * Wasabi, …). BACKUP_S3_BUCKET empty: off. Empty credentials: the AWS SDK's default chain (instance role, …).
 */
export const offsiteBackupEnv = z.object({
  BACKUP_S3_BUCKET: z.string().default(''),
  /** Empty: AWS itself; otherwise the store's URL (`http://127.0.0.1:4568`, `https://s3.example.com`). */
  BACKUP_S3_ENDPOINT: z
    .string()
    .default('')
    .refine((value) => value === '' || /^https?:\/\/[^\s]+$/.test(value), 'must be an http(s) URL or empty'),
  BACKUP_S3_REGION: z.string().min(1).default('us-east-1'),
  BACKUP_S3_ACCESS_KEY_ID: z.string().default(''),
  BACKUP_S3_SECRET_ACCESS_KEY: z.string().default(''),
  /** Keys are `<prefix><instance id>/<backup id>/<file>`; a non-empty prefix ends with `/`. */
  BACKUP_S3_PREFIX: z
    .string()
    .default('saasodoo/backups/')
    .refine((value) => value === '' || (value.endsWith('/') && !value.startsWith('/')), {
      message: 'must be empty or end with / (and not start with one)',
    }),
  /** `bucket` in the path instead of the host name (MinIO and most self-hosted stores want it). */
  BACKUP_S3_FORCE_PATH_STYLE: envBoolean(false),
  /** First retry of a failed copy or delete after this long, doubling up to an hour. */
  BACKUP_S3_RETRY_SECONDS: z.coerce.number().int().min(1).default(30),
});

export type OffsiteBackupEnv = z.infer<typeof offsiteBackupEnv>;
