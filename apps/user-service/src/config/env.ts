import { z } from 'zod';
import { commonEnv, port, postgresEnv, redisEnv } from '@app/config';

export const envSchema = z.object({
  ...commonEnv.shape,
  ...postgresEnv.shape,
  ...redisEnv.shape,
  PORT: port(8001),
  POSTGRES_DB: z.string().min(1).default('auth'),
});

export type Config = z.infer<typeof envSchema>;
