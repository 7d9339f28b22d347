import { Global, Module } from '@nestjs/common';
import { InstanceDataModule } from '@app/instance-data';
import { MailModule } from '@app/mail';
import { ServiceCoreModule } from '@app/platform';
import { LifecycleQueueModule } from '@app/queue';
import { envSchema } from './config/env';
import { dataSourceSpec } from './database/data-source';
import { dockerClientProvider, DockerRuntime } from './docker/docker-runtime';
import { DockerHealthCheck } from './health/docker.health';
import { ContainerDbEndpoint } from './lifecycle/container-db-endpoint';
import { InstanceEventsModule } from './lifecycle/instance-events.publisher';
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
import { SparePool } from './lifecycle/spare-pool';
import { PlatformStateMetrics } from './observability/platform-state.metrics';
import { TenantNetworks } from './lifecycle/tenant-networks';

@Global()
@Module({ providers: [dockerClientProvider, DockerRuntime], exports: [dockerClientProvider, DockerRuntime] })
class DockerEngineModule {}

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
    DockerEngineModule,
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
