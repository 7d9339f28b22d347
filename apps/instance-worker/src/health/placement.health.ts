import { Inject, Injectable } from '@nestjs/common';
import { HealthCheck } from '@app/health';
import { PLACEMENT_BACKEND, type PlacementBackend } from '../placement/placement-backend';

/** The worker is ready only when it can talk to the engine it drives (Docker or the swarm's manager). */
@Injectable()
export class DockerHealthCheck implements HealthCheck {
  readonly name = 'docker';
  constructor(@Inject(PLACEMENT_BACKEND) private readonly placement: PlacementBackend) {}

  async check() {
    const { version } = await this.placement.ping();
    return { server_version: version };
  }
}
