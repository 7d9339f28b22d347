import { Module } from '@nestjs/common';
import { AuthModule } from '@app/auth';
import { ServiceCoreModule } from '@app/platform';
import { DomainEventsModule } from '@app/redis';
import { AdminTenantsController } from './admin/admin-tenants.controller';
import { InstanceServiceClient, UserDirectoryClient } from './clients/platform-clients';
import { envSchema } from './config/env';
import { dataSourceSpec } from './database/data-source';
import { InternalTenantsController } from './internal/internal-tenants.controller';
import { TenantsController } from './tenants/tenants.controller';
import { TenantsRepository } from './tenants/tenants.repository';
import { TenantsService } from './tenants/tenants.service';

@Module({
  imports: [
    ServiceCoreModule.forService({ envSchema, dataSource: dataSourceSpec }),
    AuthModule,
    DomainEventsModule,
  ],
  controllers: [TenantsController, InternalTenantsController, AdminTenantsController],
  providers: [TenantsRepository, TenantsService, UserDirectoryClient, InstanceServiceClient],
})
export class AppModule {}
