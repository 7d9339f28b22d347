import { Inject, Injectable, Logger } from '@nestjs/common';
import type { InstanceStatus } from '@app/contracts';
import {
  InstanceBackupsRepository,
  InstancesRepository,
  type InstanceBackupEntity,
  type InstanceEntity,
  type PendingOperation,
} from '@app/instance-data';
import { JobDeferral, PermanentJobError, type LifecycleJobContext } from '@app/queue';
import { INSTANCE_ID_LABEL, TENANT_LABEL, type InstanceStorage } from '../placement/instance-spec';
import {
  PLACEMENT_BACKEND,
  PlacementRefusedError,
  type ObservedInstance,
  type PlacementBackend,
} from '../placement/placement-backend';
import { InstanceBackupsService } from './instance-backups.service';
import { InstanceRuntime } from './instance-runtime';
import { isDependencyUnreachable } from './unreachable';

/** The move failed and was undone: the instance is on its old node with its old volume. */
export class MigrationRolledBackError extends PermanentJobError {}

type Urls = { hostPort: number | null; internalUrl: string; externalUrl: string };

/** How the lifecycle records a status change (it alone writes instance rows' status). */
export type MoveFn = (
  row: InstanceEntity,
  to: InstanceStatus,
  options: {
    reason: string;
    patch?: Parameters<InstancesRepository['patch']>[1];
    completesOperation?: boolean;
  },
) => Promise<InstanceEntity>;

function message(error: unknown): string {
  return (error instanceof Error ? error.message : String(error)).slice(0, 1000);
}

/**
 * `migrate`: moves a local-volume instance to another node of the swarm. Steps, each idempotent so that a
 * resumed job (worker killed mid-way) converges: status `migrating` → stop → `pre_migrate` backup (or, when
 * the old node cannot run jobs — down or drained — its latest completed backup) → an empty volume on the
 * target node, filled from the backup's filestore by a job there → `placement_node` switched and the
 * service redeployed pinned to the target → running there (checked) → the old volume removed on its node.
 * The database lives on the platform's Postgres and does not move. Any failure before the end is undone:
 * pinned back to the old node (started again if it should run) and the target's volume removed.
 */
@Injectable()
export class InstanceMigration {
  private readonly logger = new Logger(InstanceMigration.name);

  constructor(
    private readonly runtime: InstanceRuntime,
    private readonly backups: InstanceBackupsService,
    private readonly backupRows: InstanceBackupsRepository,
    private readonly instances: InstancesRepository,
    @Inject(PLACEMENT_BACKEND) private readonly placement: PlacementBackend,
  ) {}

  async migrate(
    row: InstanceEntity,
    ctx: LifecycleJobContext,
    operation: PendingOperation,
    move: MoveFn,
    stable: (row: InstanceEntity, observed: ObservedInstance) => InstanceStatus,
  ): Promise<'succeeded'> {
    const target = operation.params.node;
    if (!target) throw new PermanentJobError('migrate without a target node');
    const source = operation.params.from ?? row.placementNode;
    const storage = this.runtime.storage(row);
    if (storage.kind !== 'local-volume' || !source) {
      throw new PermanentJobError('the instance has no local volume on a node: nothing to migrate');
    }
    const resumedAfterSwitch = row.status === 'migrating' && row.placementNode === target;
    if (row.status !== 'migrating') {
      try {
        await this.placement.migrationTarget(storage, target);
      } catch (error) {
        if (error instanceof PlacementRefusedError) throw new PermanentJobError(error.message);
        throw error;
      }
      row = await move(row, 'migrating', {
        reason: `migrating from node ${source} to node ${target}`,
        patch: { statusReason: `migrating to node ${target}` },
      });
    }
    const sourceReadable = await this.placement.nodeAcceptsJobs(source);
    let backup: InstanceBackupEntity | null = null;
    try {
      if (!resumedAfterSwitch) {
        backup = await this.copyToTarget(row, ctx, operation, target, sourceReadable);
        await this.instances.patch(row.id, { placementNode: target });
        row.placementNode = target;
      }
      const urls = await this.bringUpOn(row, target);
      const removed = await this.removeOldVolume(row, source);
      const from = backup
        ? ` from ${sourceReadable ? '' : 'its latest '}backup ${backup.id}${sourceReadable ? '' : ` (node ${source} cannot be reached)`}`
        : '';
      const note = removed ? '' : `; the old volume stays on node ${source} until it can run jobs again`;
      await move(row, urls ? 'running' : stable(row, await this.runtime.observe(row)), {
        reason: `moved from node ${source} to node ${target}${from}${note}`,
        patch: {
          ...(urls ?? {}),
          ...(urls ? { startedAt: new Date() } : {}),
          statusReason: `moved to node ${target}`,
          lastError: null,
        },
        completesOperation: true,
      });
      return 'succeeded';
    } catch (error) {
      if (error instanceof JobDeferral || isDependencyUnreachable(error)) throw error;
      const failure = message(error);
      this.logger.warn(`instance ${row.id}: migration to ${target} failed (${failure}); rolling back`);
      const urls = await this.rollBack(row, source, target, sourceReadable);
      const note = `migration to node ${target} failed: ${failure}; rolled back, the instance stays on node ${source}`;
      await move(row, urls ? 'running' : stable(row, await this.runtime.observe(row)), {
        reason: note,
        patch: { ...(urls ?? {}), lastError: note, statusReason: 'migration rolled back' },
        completesOperation: true,
      });
      throw new MigrationRolledBackError(note);
    }
  }

  /** The data on an empty volume of the target node: from a fresh backup, or the latest when unreadable. */
  private async copyToTarget(
    row: InstanceEntity,
    ctx: LifecycleJobContext,
    operation: PendingOperation,
    target: string,
    sourceReadable: boolean,
  ): Promise<InstanceBackupEntity> {
    const observed = await this.runtime.observe(row);
    // Stopped first, so nothing is written on the old node after the copy is taken. (A node that cannot run
    // jobs runs nothing: its task waits for it, and the switch below replaces it.)
    if (sourceReadable && observed.state !== 'missing' && observed.state !== 'stopped') {
      await this.runtime.stop(observed.handle);
    }
    let backup: InstanceBackupEntity | null;
    if (sourceReadable) {
      if (observed.state === 'missing')
        throw new PermanentJobError('the service is missing: nothing to copy');
      backup = await this.backups.create(row, observed.handle, {
        kind: 'pre_migrate',
        jobId: ctx.id,
        requestedBy: operation.requested_by,
      });
    } else {
      backup = (await this.backupRows.listForInstance(row.id)).find((b) => b.status === 'completed') ?? null;
      if (!backup) {
        throw new PermanentJobError(
          `node ${row.placementNode} cannot be reached and the instance has no completed backup to move from`,
        );
      }
      await this.backups.verify(backup);
    }
    const storage = this.runtime.storage(row);
    await this.placement.prepareStorageOn(
      storage,
      target,
      { [INSTANCE_ID_LABEL]: row.id, [TENANT_LABEL]: row.tenantId, 'saasodoo.managed': 'true' },
      this.runtime.currentImage(row),
    );
    const handle = observed.state === 'missing' ? (row.containerId ?? '') : observed.handle;
    await this.runtime.copyDataIn(
      { ...row, placementNode: target },
      handle,
      this.backups.filestoreTar(backup),
    );
    return backup;
  }

  /** Redeployed pinned to `node` (the row's placement node); started and checked there if it should run. */
  private async bringUpOn(row: InstanceEntity, node: string): Promise<Urls | null> {
    const password = await this.runtime.dbPassword(row);
    const handle = await this.runtime.ensureContainer(row, password, this.runtime.currentImage(row));
    if (row.desiredState !== 'running') return null;
    const urls = await this.runtime.startAndWait(row, handle);
    const observed = await this.runtime.observe(row);
    if (observed.state !== 'running' || observed.node !== node) {
      throw new Error(
        `expected to run on node ${node}, found ${observed.state}${observed.state !== 'missing' ? ` on ${observed.node ?? 'no node'}` : ''}`,
      );
    }
    return urls;
  }

  private async removeOldVolume(row: InstanceEntity, source: string): Promise<boolean> {
    if (!(await this.placement.nodeAcceptsJobs(source))) return false;
    await this.placement.removeStorage(this.volumeOn(row, source));
    return true;
  }

  /** The instance's local volume as it is (or was) on `node`. */
  private volumeOn(row: InstanceEntity, node: string): InstanceStorage {
    const storage = this.runtime.storage(row);
    if (storage.kind !== 'local-volume') throw new PermanentJobError('the instance has no local volume');
    return { ...storage, node };
  }

  /** Back on `source` (started if it should run and the node can run it), the target's volume removed. */
  private async rollBack(
    row: InstanceEntity,
    source: string,
    target: string,
    sourceReadable: boolean,
  ): Promise<Urls | null> {
    await this.instances.patch(row.id, { placementNode: source });
    row.placementNode = source;
    const password = await this.runtime.dbPassword(row);
    const handle = await this.runtime.ensureContainer(row, password, this.runtime.currentImage(row));
    await this.placement.removeStorage(this.volumeOn(row, target));
    if (row.desiredState !== 'running' || !sourceReadable) return null;
    return this.runtime.startAndWait(row, handle);
  }
}
