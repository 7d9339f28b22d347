import { z } from 'zod';
import { commonEnv, port, postgresEnv, redisEnv } from '@app/config';
import { authEnv } from '@app/auth';

export const envSchema = z.object({
  ...commonEnv.shape,
  ...postgresEnv.shape,
  ...redisEnv.shape,
  ...authEnv.shape,
  PORT: port(8002),
  POSTGRES_DB: z.string().min(1).default('tenant'),
  USER_SERVICE_URL: z.url().default('http://127.0.0.1:8001'),
  INSTANCE_SERVICE_URL: z.url().default('http://127.0.0.1:8003'),
  /** Live tenants one customer may own (platform admins are not limited). */
  MAX_TENANTS_PER_CUSTOMER: z.coerce.number().int().min(1).max(1000).default(3),
});

export type Config = z.infer<typeof envSchema>;
