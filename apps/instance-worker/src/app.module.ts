import { Global, Module } from '@nestjs/common';
import { ServiceCoreModule } from '@app/platform';
import { envSchema } from './config/env';
import { dataSourceSpec } from './database/data-source';
import { dockerClientProvider } from './docker/docker-runtime';
import { DockerHealthCheck } from './health/docker.health';

@Global()
@Module({ providers: [dockerClientProvider], exports: [dockerClientProvider] })
class DockerEngineModule {}

@Module({
  imports: [
    DockerEngineModule,
    ServiceCoreModule.forService({ envSchema, dataSource: dataSourceSpec, extraChecks: [DockerHealthCheck] }),
  ],
})
export class AppModule {}
