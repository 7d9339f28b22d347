import { Injectable } from '@nestjs/common';
import { DockerPlacement } from '../docker/docker-placement';

/** Placeholder until the swarm backend lands: behaves as the Docker backend. */
@Injectable()
export class SwarmPlacement extends DockerPlacement {}
