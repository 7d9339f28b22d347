import { Inject, Injectable } from '@nestjs/common';
import Docker from 'dockerode';
import { HealthCheck } from '@app/health';
import { DOCKER_CLIENT } from '../docker/docker-runtime';

/** The worker is ready only when it can talk to the Docker engine it drives. */
@Injectable()
export class DockerHealthCheck implements HealthCheck {
  readonly name = 'docker';
  constructor(@Inject(DOCKER_CLIENT) private readonly docker: Docker) {}

  async check() {
    await this.docker.ping();
    const version = await this.docker.version();
    return { server_version: version.Version };
  }
}
