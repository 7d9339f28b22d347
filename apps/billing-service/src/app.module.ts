import { Module } from '@nestjs/common';
import { ServiceCoreModule } from '@app/platform';
import { envSchema } from './config/env';
import { dataSourceSpec } from './database/data-source';

@Module({
  imports: [ServiceCoreModule.forService({ envSchema, dataSource: dataSourceSpec })],
})
export class AppModule {}
