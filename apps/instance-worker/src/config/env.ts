import { z } from 'zod';
import { commonEnv, port, postgresEnv, redisEnv } from '@app/config';

export const envSchema = z.object({
  ...commonEnv.shape,
  ...postgresEnv.shape,
  ...redisEnv.shape,
  /** Health and metrics only: the worker has no public API. */
  PORT: port(8005),
  POSTGRES_DB: z.string().min(1).default('instance'),
  DOCKER_HOST: z
    .string()
    .regex(/^(unix|tcp|http|https):\/\//, 'must be unix:///path or tcp://host:port')
    .default('unix:///var/run/docker.sock'),
});

export type Config = z.infer<typeof envSchema>;
