import { Module } from '@nestjs/common';
import { InstanceDataModule } from '@app/instance-data';
import { MailModule } from '@app/mail';
import { ServiceCoreModule } from '@app/platform';
import { LifecycleQueueModule } from '@app/queue';
import { envSchema } from './config/env';
import { dataSourceSpec } from './database/data-source';
import { DockerHealthCheck } from './health/placement.health';
import { ContainerDbEndpoint } from './lifecycle/container-db-endpoint';
import { InstanceEventsModule } from './lifecycle/instance-events.publisher';
import { BackupDownloadController } from './backups/backup-download.controller';
import { BackupScheduler } from './backups/backup-scheduler';
import { BackupSweeper } from './backups/backup-sweeper';
import { BackupVerifier } from './backups/backup-verifier';
import { OffsiteBackupCopies } from './backups/offsite/offsite-backup-copies';
import { offsiteBackupStoreProvider } from './backups/offsite/offsite-backup-store.provider';
import { SafeRestore } from './backups/safe-restore';
import { TerminationSafety } from './backups/termination-safety';
import { InstanceBackupsService } from './lifecycle/instance-backups.service';
import { InstanceLifecycleService } from './lifecycle/instance-lifecycle.service';
import { InstanceLocks } from './lifecycle/instance-locks';
import { InstanceMigration } from './lifecycle/instance-migration';
import { InstanceReconciler } from './lifecycle/instance-reconciler';
import { InstanceRuntime } from './lifecycle/instance-runtime';
import { InstanceUsageMeter } from './lifecycle/instance-usage-meter';
import {
  LIFECYCLE_JOB_HANDLER_CLASSES,
  lifecycleJobHandlersProvider,
} from './lifecycle/lifecycle-job-handlers';
import { LifecycleWorker } from './lifecycle/lifecycle-worker';
import { LifecycleMetrics } from './lifecycle/lifecycle.metrics';
import { OdooDatabaseProvisioner } from './lifecycle/odoo-database.provisioner';
import { PlacementNodesPublisher } from './lifecycle/placement-nodes.publisher';
import { SparePool } from './lifecycle/spare-pool';
import { PlatformStateMetrics } from './observability/platform-state.metrics';
import { PlacementModule } from './placement/placement.module';
import { TenantNetworks } from './lifecycle/tenant-networks';
import { streamedBodyTypes } from '@app/http';
import { ArchiveProvisioner } from './imports/archive-provisioner';
import { ImportArchiveSweeper } from './imports/import-archive-sweeper';
import { ImportArchives } from './imports/import-archives';
import { ImportUploadController } from './imports/import-upload.controller';

@Module({
  controllers: [BackupDownloadController, ImportUploadController],
  providers: [
    streamedBodyTypes('WORKER_STREAMED_BODIES', ['application/zip']),
    ImportArchives,
    ArchiveProvisioner,
    ImportArchiveSweeper,
    LifecycleMetrics,
    InstanceLocks,
    OdooDatabaseProvisioner,
    ContainerDbEndpoint,
    TenantNetworks,
    InstanceRuntime,
    SparePool,
    BackupVerifier,
    offsiteBackupStoreProvider,
    OffsiteBackupCopies,
    BackupScheduler,
    BackupSweeper,
    TerminationSafety,
    SafeRestore,
    InstanceMigration,
    InstanceBackupsService,
    InstanceLifecycleService,
    InstanceReconciler,
    InstanceUsageMeter,
    PlacementNodesPublisher,
    ...LIFECYCLE_JOB_HANDLER_CLASSES,
    lifecycleJobHandlersProvider,
    LifecycleWorker,
  ],
  exports: [
    LifecycleWorker,
    InstanceReconciler,
    InstanceUsageMeter,
    InstanceRuntime,
    OdooDatabaseProvisioner,
    SparePool,
  ],
})
export class InstanceLifecycleModule {}

@Module({
  imports: [
    PlacementModule,
    ServiceCoreModule.forService({ envSchema, dataSource: dataSourceSpec, extraChecks: [DockerHealthCheck] }),
    InstanceEventsModule,
    InstanceDataModule,
    MailModule.forRoot(),
    LifecycleQueueModule,
    InstanceLifecycleModule,
  ],
  providers: [PlatformStateMetrics],
})
export class AppModule {}
