import { Body, Controller, HttpCode, Injectable, Param, Post } from '@nestjs/common';
import {
  ApiAcceptedResponse,
  ApiOperation,
  ApiProperty,
  ApiPropertyOptional,
  ApiTags,
} from '@nestjs/swagger';
import { IsOptional, IsString, Length } from 'class-validator';
import { AdminOnly, CurrentUser } from '@app/auth';
import type { AuthenticatedUser } from '@app/auth';
import { INSTANCE_STATUSES, type InstanceStatus } from '@app/contracts';
import { ApiErrors, DependencyUnavailableError, JSON_BODY_ERRORS } from '@app/http';
import { InstancesRepository, MigrationNodeUnknownError, MigrationRefusedError } from '@app/instance-data';
import { chooseMigrationTarget, PlacementNodesStore, type PlacementNodesSnapshot } from '@app/queue';
import { InstanceIdPipe } from '../instances/instance-id.pipe';
import { LifecycleDispatcher } from '../instances/lifecycle-dispatcher';

export class MigrateInstanceDto {
  @ApiPropertyOptional({
    description:
      'Swarm node id to move to (GET /admin/nodes). Omitted: the eligible ready node with the most free reserved memory, other than the current one',
    minLength: 1,
    maxLength: 64,
  })
  @IsOptional()
  @IsString()
  @Length(1, 64)
  node?: string;
}

export class MigrationAcceptedDto {
  @ApiProperty({ example: '<instance_id>:migrate:7' }) job_id: string;
  @ApiProperty({ format: 'uuid' }) instance_id: string;
  @ApiProperty({ enum: ['migrate'] }) action: 'migrate';
  @ApiProperty({ enum: ['queued'] }) status: 'queued';
  @ApiProperty({ description: 'The node the instance moves to' }) node: string;
  @ApiProperty({ nullable: true, type: String, description: 'The node it is on now' }) from_node:
    string | null;
  @ApiProperty({ enum: INSTANCE_STATUSES }) instance_status: InstanceStatus;
}

/**
 * Checks what the API can know (the worker's last node snapshot: orchestrator, storage, node states) and
 * records the `migrate` operation; the worker's lifecycle carries it out and checks the node again.
 */
@Injectable()
export class AdminMigrationService {
  constructor(
    private readonly instances: InstancesRepository,
    private readonly store: PlacementNodesStore,
    private readonly dispatcher: LifecycleDispatcher,
  ) {}

  async migrate(user: AuthenticatedUser, id: string, requested?: string): Promise<MigrationAcceptedDto> {
    const instance = await this.instances.getById(id);
    const snapshot = await this.snapshot();
    if (snapshot.orchestrator !== 'swarm') {
      throw new MigrationRefusedError(
        'MIGRATION_NOT_SUPPORTED',
        `Instances run on one Docker host (ORCHESTRATOR=${snapshot.orchestrator}): there is no other node to move to`,
      );
    }
    if (snapshot.storage === 'shared-path') {
      throw new MigrationRefusedError(
        'NOTHING_TO_MIGRATE',
        'Instances use shared storage (SHARED_STORAGE_PATH): the swarm moves them by itself',
      );
    }
    const choice = chooseMigrationTarget(
      snapshot.nodes.map((n) => ({
        id: n.id,
        availability: n.availability,
        state: n.state,
        labels: n.labels,
        freeMemoryBytes: n.memory_bytes.total - n.memory_bytes.reserved,
      })),
      instance.placementNode,
      requested,
    );
    if (!choice.ok) {
      if (choice.code === 'NODE_NOT_FOUND') throw new MigrationNodeUnknownError(choice.message);
      throw new MigrationRefusedError(choice.code, choice.message, [{ node: requested ?? null }]);
    }
    const recorded = await this.instances.requestMigration(id, choice.node, {
      actor: user.id,
      reason: `migrate to node ${choice.node} requested by an admin`,
    });
    const jobId = await this.dispatcher.dispatch(recorded.job);
    return {
      job_id: jobId,
      instance_id: id,
      action: 'migrate',
      status: 'queued',
      node: choice.node,
      from_node: instance.placementNode,
      instance_status: recorded.instance.status,
    };
  }

  private async snapshot(): Promise<PlacementNodesSnapshot> {
    const snapshot = await this.store.latest().catch((error: unknown) => {
      throw new DependencyUnavailableError('redis', error instanceof Error ? error.message : String(error));
    });
    if (!snapshot)
      throw new DependencyUnavailableError('instance-worker', 'no worker reported its nodes recently');
    return snapshot;
  }
}

/** Operator actions on instances, whatever their tenant. */
@ApiTags('admin')
@AdminOnly()
@Controller('admin/instances')
export class AdminInstancesController {
  constructor(private readonly migration: AdminMigrationService) {}

  @Post(':id/migrate')
  @HttpCode(202)
  @ApiOperation({
    summary: 'Move a local-volume instance to another swarm node',
    description:
      'Backup, restore into a new volume on the target node, switch the service there, verify, remove the old volume; rolled back on any failure. An instance whose node is down or drained moves from its latest backup.',
  })
  @ApiAcceptedResponse({ type: MigrationAcceptedDto })
  @ApiErrors(JSON_BODY_ERRORS, {
    404: ['INSTANCE_NOT_FOUND', 'NOT_FOUND'],
    409: [
      'MIGRATION_NOT_SUPPORTED',
      'NOTHING_TO_MIGRATE',
      'MIGRATION_NOT_ALLOWED',
      'OPERATION_PENDING',
      'SAME_NODE',
      'NODE_NOT_ELIGIBLE',
      'NO_ELIGIBLE_NODE',
    ],
    503: ['DEPENDENCY_UNAVAILABLE'],
  })
  migrate(
    @CurrentUser() user: AuthenticatedUser,
    @Param('id', InstanceIdPipe) id: string,
    @Body() dto: MigrateInstanceDto,
  ) {
    return this.migration.migrate(user, id, dto.node);
  }
}
