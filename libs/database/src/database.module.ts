import { DynamicModule, Logger, Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { APP_CONFIG, PostgresEnv } from '@app/config';
import { buildDataSourceOptions, ServiceDataSourceSpec } from './data-source-options';
import { assertConnectedRole, DbUserGuardError } from './db-user.guard';
import { runMigrationsWithLock } from './migrations';

/**
 * Opens the service's data source only after the DB-user guard accepted the credentials, then checks the
 * connected role, then applies migrations under an advisory lock (unless DB_RUN_MIGRATIONS=false).
 */
@Module({})
export class DatabaseModule {
  static forService(spec: ServiceDataSourceSpec): DynamicModule {
    const logger = new Logger('Database');
    return {
      module: DatabaseModule,
      imports: [
        TypeOrmModule.forRootAsync({
          inject: [APP_CONFIG],
          useFactory: (env: PostgresEnv) => ({
            ...buildDataSourceOptions(spec, env),
            autoLoadEntities: false,
            retryAttempts: 5,
            retryDelay: 2000,
            toRetry: (error: unknown) => !(error instanceof DbUserGuardError),
          }),
          dataSourceFactory: async (options) => {
            if (!options) throw new Error('missing data source options');
            const dataSource = await new DataSource(options).initialize();
            try {
              await assertConnectedRole(spec.service, dataSource);
            } catch (error) {
              await dataSource.destroy();
              throw error;
            }
            return dataSource;
          },
        }),
      ],
      providers: [
        {
          provide: 'DATABASE_MIGRATIONS',
          inject: [DataSource, APP_CONFIG],
          useFactory: async (dataSource: DataSource, env: PostgresEnv) => {
            if (!env.DB_RUN_MIGRATIONS) return [];
            // One lock per database (advisory locks are scoped to it): services sharing one (instance-service
            // and the worker) must never migrate it at the same time.
            const applied = await runMigrationsWithLock(dataSource, 'migrations');
            if (applied.length) logger.log(`applied migrations: ${applied.join(', ')}`);
            return applied;
          },
        },
      ],
      exports: [TypeOrmModule],
    };
  }
}
