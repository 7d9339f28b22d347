import { Global, Module } from '@nestjs/common';
import { APP_CONFIG } from '@app/config';
import { BackupOffsiteCopiesRepository } from './backup-offsite-copies.repository';
import { InstanceBackupsRepository } from './instance-backups.repository';
import { InstanceSecrets, type InstanceSecretsEnv } from './instance-secrets';
import { InstancesRepository } from './instances.repository';
import { PlatformStateRepository } from './platform-state.repository';

/**
 * Repositories of the `instance` database and the secret box, for instance-service and the worker. Needs
 * the app's TypeORM data source (ServiceCoreModule) and INSTANCE_SECRETS_KEY in the app's env schema
 * (spread `instanceSecretsEnv`).
 */
@Global()
@Module({
  providers: [
    InstancesRepository,
    InstanceBackupsRepository,
    BackupOffsiteCopiesRepository,
    PlatformStateRepository,
    {
      provide: InstanceSecrets,
      inject: [APP_CONFIG],
      useFactory: (env: InstanceSecretsEnv) => new InstanceSecrets(env.INSTANCE_SECRETS_KEY),
    },
  ],
  exports: [
    InstancesRepository,
    InstanceBackupsRepository,
    BackupOffsiteCopiesRepository,
    PlatformStateRepository,
    InstanceSecrets,
  ],
})
export class InstanceDataModule {}
