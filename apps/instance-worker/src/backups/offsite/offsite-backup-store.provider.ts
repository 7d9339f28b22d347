import type { Provider } from '@nestjs/common';
import { APP_CONFIG } from '@app/config';
import type { OffsiteBackupEnv } from './offsite-backup-env';
import { OFFSITE_BACKUP_STORE, type OffsiteBackupStore } from './offsite-backup-store';
import { S3OffsiteBackupStore } from './s3-offsite-backup-store';

/** The off-host store, chosen once at boot: S3-compatible when BACKUP_S3_BUCKET is set, otherwise none. */
export const offsiteBackupStoreProvider: Provider = {
  provide: OFFSITE_BACKUP_STORE,
  inject: [APP_CONFIG],
  useFactory: (env: OffsiteBackupEnv): OffsiteBackupStore | null =>
    env.BACKUP_S3_BUCKET ? new S3OffsiteBackupStore(env) : null,
};
