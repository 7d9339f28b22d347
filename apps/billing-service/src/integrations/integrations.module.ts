import { Module } from '@nestjs/common';
import { InstanceServiceClient } from './instance-service.client';
import { TenantDirectoryClient } from './tenant-directory.client';
import { UserDirectoryClient } from './user-directory.client';

/** Clients of the other services (instance-service, tenant-service, user-service), over @app/auth's InternalHttpClient. */
@Module({
  providers: [InstanceServiceClient, TenantDirectoryClient, UserDirectoryClient],
  exports: [InstanceServiceClient, TenantDirectoryClient, UserDirectoryClient],
})
export class IntegrationsModule {}
