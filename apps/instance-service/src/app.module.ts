import { Module } from '@nestjs/common';
import { Transport } from '@nestjs/microservices';
import { AuthModule } from '@app/auth';
import { InstanceDataModule } from '@app/instance-data';
import { loadConfig, redisEnv } from '@app/config';
import { ConnectsMicroservice } from '@app/http';
import { ServiceCoreModule } from '@app/platform';
import { redisTransportOptions } from '@app/redis';
import { LifecycleQueueModule } from '@app/queue';
import { envSchema } from './config/env';
import { dataSourceSpec } from './database/data-source';
import { EventsModule } from './events/events.module';
import { InstancesModule } from './instances/instances.module';

/** Hybrid: the domain events of the other apps arrive over Redis (EventsModule's @EventPattern handlers). */
@ConnectsMicroservice(() => ({
  transport: Transport.REDIS,
  options: redisTransportOptions(loadConfig(redisEnv).REDIS_URL),
}))
@Module({
  imports: [
    ServiceCoreModule.forService({ envSchema, dataSource: dataSourceSpec }),
    AuthModule.forRoot(),
    InstanceDataModule,
    LifecycleQueueModule,
    InstancesModule,
    EventsModule,
  ],
})
export class AppModule {}
