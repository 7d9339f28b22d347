import { Module } from '@nestjs/common';
import { AuthModule } from '@app/auth';
import { InstanceDataModule } from '@app/instance-data';
import { ServiceCoreModule } from '@app/platform';
import { LifecycleQueueModule } from '@app/queue';
import { envSchema } from './config/env';
import { dataSourceSpec } from './database/data-source';
import { InstancesModule } from './instances/instances.module';

@Module({
  imports: [
    ServiceCoreModule.forService({ envSchema, dataSource: dataSourceSpec }),
    AuthModule.forRoot(),
    InstanceDataModule,
    LifecycleQueueModule,
    InstancesModule,
  ],
})
export class AppModule {}
