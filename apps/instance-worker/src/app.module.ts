import { Global, Module } from '@nestjs/common';
import { ServiceCoreModule } from '@app/platform';
import { envSchema } from './config/env';
import { dataSourceSpec } from './database/data-source';
import { dockerEngineProvider } from './health/docker-engine.provider';
import { DockerHealthCheck } from './health/docker.health';

@Global()
@Module({ providers: [dockerEngineProvider], exports: [dockerEngineProvider] })
class DockerEngineModule {}

@Module({
  imports: [
    DockerEngineModule,
    ServiceCoreModule.forService({ envSchema, dataSource: dataSourceSpec, extraChecks: [DockerHealthCheck] }),
  ],
})
export class AppModule {}
