import Docker from 'dockerode';
import { APP_CONFIG } from '@app/config';
import { DOCKER_ENGINE } from './docker.health';
import { Config } from '../config/env';

export function dockerOptionsFromHost(dockerHost: string): Docker.DockerOptions {
  const url = new URL(dockerHost);
  if (url.protocol === 'unix:') return { socketPath: url.pathname };
  return {
    host: url.hostname,
    port: Number(url.port || 2375),
    protocol: url.protocol === 'https:' ? 'https' : 'http',
  };
}

export const dockerEngineProvider = {
  provide: DOCKER_ENGINE,
  inject: [APP_CONFIG],
  useFactory: (config: Config) => new Docker(dockerOptionsFromHost(config.DOCKER_HOST)),
};
