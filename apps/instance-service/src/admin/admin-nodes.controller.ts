import { Controller, Get, Injectable } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiProperty, ApiTags } from '@nestjs/swagger';
import { AdminOnly } from '@app/auth';
import { ApiErrors, DependencyUnavailableError } from '@app/http';
import { PlacementNodesStore, type PlacementNodesSnapshot } from '@app/queue';

class AmountsView {
  @ApiProperty() total: number;
  @ApiProperty({ description: 'Set aside by the tasks placed on the node (their reservations)' })
  reserved: number;
}

class PlacementNodeView {
  @ApiProperty() id: string;
  @ApiProperty() hostname: string;
  @ApiProperty({ enum: ['manager', 'worker'] }) role: 'manager' | 'worker';
  @ApiProperty({ enum: ['active', 'pause', 'drain'] }) availability: 'active' | 'pause' | 'drain';
  @ApiProperty({ description: 'ready, down, unknown…' }) state: string;
  @ApiProperty({ type: 'object', additionalProperties: { type: 'string' } }) labels: Record<string, string>;
  @ApiProperty({ type: AmountsView, description: 'CPUs (1.0 = one core)' }) cpus: AmountsView;
  @ApiProperty({ type: AmountsView }) memory_bytes: AmountsView;
}

export class PlacementNodesView {
  @ApiProperty({ enum: ['docker', 'swarm'] }) orchestrator: 'docker' | 'swarm';
  @ApiProperty({
    enum: ['local-volume', 'shared-path'],
    description:
      'shared-path (SHARED_STORAGE_PATH): instances move by themselves; local-volume: POST /admin/instances/{id}/migrate moves one',
  })
  storage: 'local-volume' | 'shared-path';
  @ApiProperty({ format: 'date-time', description: 'When the worker read the nodes (every 10 s)' })
  observed_at: string;
  @ApiProperty({ type: [PlacementNodeView] }) nodes: PlacementNodeView[];
}

@Injectable()
export class AdminNodesService {
  constructor(private readonly store: PlacementNodesStore) {}

  async nodes(): Promise<PlacementNodesSnapshot> {
    const snapshot = await this.store.latest().catch((error: unknown) => {
      throw new DependencyUnavailableError('redis', error instanceof Error ? error.message : String(error));
    });
    if (!snapshot)
      throw new DependencyUnavailableError('instance-worker', 'no worker reported its nodes recently');
    return snapshot;
  }
}

/** Where capacity is: what the instance worker last saw of the nodes it places instances on. */
@ApiTags('admin')
@AdminOnly()
@Controller('admin/nodes')
export class AdminNodesController {
  constructor(private readonly nodes: AdminNodesService) {}

  @Get()
  @ApiOperation({ summary: 'Nodes with labels, availability, and reserved against total CPU and memory' })
  @ApiOkResponse({ type: PlacementNodesView })
  @ApiErrors({ 503: ['DEPENDENCY_UNAVAILABLE'] })
  list() {
    return this.nodes.nodes();
  }
}
