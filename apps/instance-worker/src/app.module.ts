import { Module } from '@nestjs/common';
import { InstanceDataModule } from '@app/instance-data';
import { MailModule } from '@app/mail';
import { ServiceCoreModule } from '@app/platform';
import { LifecycleQueueModule } from '@app/queue';
import { envSchema } from './config/env';
import { dataSourceSpec } from './database/data-source';
import { DockerHealthCheck } from './health/placement.health';
import { ContainerDbEndpoint } from './lifecycle/container-db-endpoint';
import { InstanceBackupsService } from './lifecycle/instance-backups.service';
import { InstanceLifecycleService } from './lifecycle/instance-lifecycle.service';
import { InstanceLocks } from './lifecycle/instance-locks';
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

@Module({
  providers: [
    LifecycleMetrics,
    InstanceLocks,
    OdooDatabaseProvisioner,
    ContainerDbEndpoint,
    TenantNetworks,
    InstanceRuntime,
    SparePool,
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
    InstanceDataModule,
    MailModule.forRoot(),
    LifecycleQueueModule,
    InstanceLifecycleModule,
  ],
  providers: [PlatformStateMetrics],
})
export class AppModule {}
