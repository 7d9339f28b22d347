import { DataSourceOptions, MixedList, EntitySchema } from 'typeorm';
import { PostgresEnv } from '@app/config';
import { assertServiceCredentials } from './db-user.guard';
import { ServiceName } from './service-identity';

type ClassRef = abstract new (...args: never[]) => unknown;

export interface ServiceDataSourceSpec {
  service: ServiceName;
  entities: MixedList<ClassRef | string | EntitySchema>;
  migrations: ClassRef[];
}

/** The one place a service's TypeORM options are built: used by the app and by the TypeORM CLI alike. */
export function buildDataSourceOptions(spec: ServiceDataSourceSpec, env: PostgresEnv): DataSourceOptions {
  const { user, password } = assertServiceCredentials(spec.service, env);
  return {
    type: 'postgres',
    host: env.POSTGRES_HOST,
    port: env.POSTGRES_PORT,
    database: env.POSTGRES_DB,
    username: user,
    password,
    entities: spec.entities as DataSourceOptions['entities'],
    migrations: spec.migrations as unknown as DataSourceOptions['migrations'],
    migrationsTableName: 'schema_migrations',
    migrationsRun: false,
    synchronize: false,
    applicationName: spec.service,
    extra: {
      max: env.DB_POOL_SIZE,
      connectionTimeoutMillis: env.DB_CONNECT_TIMEOUT_MS,
      // Idle connections are kept a minute (pg's default is 10 s): a burst of requests after a short pause
      // does not pay for new connections (a backend fork and a SCRAM exchange each).
      idleTimeoutMillis: 60_000,
      statement_timeout: 30000,
    },
  };
}
