import { Global, Module, type FactoryProvider } from '@nestjs/common';
import { APP_CONFIG } from '@app/config';
import type { Config } from '../config/env';
import { DockerPlacement } from './docker/docker-placement';
import { dockerClientProvider, DockerRuntime } from './docker/docker-runtime';
import { PLACEMENT_BACKEND, type PlacementBackend } from './placement-backend';
import { SwarmPlacement } from './swarm/swarm-placement';

/** `ORCHESTRATOR` picks the backend once, at boot; nothing else in the worker asks which one it is. */
const placementBackendProvider: FactoryProvider<PlacementBackend> = {
  provide: PLACEMENT_BACKEND,
  inject: [APP_CONFIG, DockerPlacement, SwarmPlacement],
  useFactory: (config: Pick<Config, 'ORCHESTRATOR'>, docker: DockerPlacement, swarm: SwarmPlacement) =>
    config.ORCHESTRATOR === 'swarm' ? swarm : docker,
};

@Global()
@Module({
  providers: [dockerClientProvider, DockerRuntime, DockerPlacement, SwarmPlacement, placementBackendProvider],
  exports: [PLACEMENT_BACKEND],
})
export class PlacementModule {}
