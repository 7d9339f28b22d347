import { Module } from '@nestjs/common';
import { AdminInstancesController, AdminMigrationService } from '../admin/admin-instances.controller';
import { AdminNodesController, AdminNodesService } from '../admin/admin-nodes.controller';
import { BillingServiceClient } from '../billing/billing-service.client';
import { InstanceMetrics } from '../common/instance-metrics';
import { RandomSource } from '../common/random-source';
import { TrailingSlashRoutes } from '../common/trailing-slash';
import { InternalInstancesController } from '../internal/internal-instances.controller';
import { InternalInstancesService } from '../internal/internal-instances.service';
import { QuotaSlots } from '../tenants/quota-slots';
import { TenantAccessPolicy } from '../tenants/tenant-access';
import { TenantServiceClient } from '../tenants/tenant-service.client';
import { AbandonedInstancesRepository } from './abandoned-instances.repository';
import { AdminPasswordIssuer } from './admin-password';
import { InstanceActionsService } from './instance-actions.service';
import { InstanceQueriesService } from './instance-queries.service';
import { InstancesController } from './instances.controller';
import { InstanceCreationService } from './instance-creation.service';
import { InstanceUpdatesService } from './instance-updates.service';
import { BackupDownloadLinks } from './backup-download-links';
import { LifecycleDispatcher } from './lifecycle-dispatcher';
import { ManualBackupLimit } from './manual-backup-limit';
import { streamedBodyTypes } from '@app/http';
import { InstanceImportsController } from '../imports/instance-imports.controller';
import { InstanceImportService } from '../imports/instance-import.service';
import { StagingRestoreService } from '../imports/staging-restore.service';
import { WorkerImportsClient } from '../imports/worker-imports.client';

/** The instance API: public routes under /api/v1/instances and the service-to-service routes under /internal. */
@Module({
  controllers: [
    InstanceImportsController,
    InstancesController,
    InternalInstancesController,
    AdminNodesController,
    AdminInstancesController,
  ],
  providers: [
    streamedBodyTypes('INSTANCE_SERVICE_STREAMED_BODIES', ['multipart/form-data']),
    InstanceImportService,
    StagingRestoreService,
    WorkerImportsClient,
    AdminNodesService,
    AdminMigrationService,
    InstanceCreationService,
    InstanceUpdatesService,
    InstanceActionsService,
    InstanceQueriesService,
    InternalInstancesService,
    AbandonedInstancesRepository,
    AdminPasswordIssuer,
    LifecycleDispatcher,
    ManualBackupLimit,
    BackupDownloadLinks,
    TenantServiceClient,
    TenantAccessPolicy,
    QuotaSlots,
    BillingServiceClient,
    RandomSource,
    InstanceMetrics,
    TrailingSlashRoutes,
  ],
  exports: [TenantAccessPolicy],
})
export class InstancesModule {}
