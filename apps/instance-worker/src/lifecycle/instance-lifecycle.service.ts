import { Inject, Injectable, Logger } from '@nestjs/common';
import { UnrecoverableError } from 'bullmq';
import { APP_CONFIG } from '@app/config';
import { isActionAllowed, MIGRATABLE_STATUSES, type InstanceStatus } from '@app/contracts';
import {
  InstanceBackupsRepository,
  InstancesRepository,
  type InstanceEntity,
  type InstancePatch,
  type PendingOperation,
} from '@app/instance-data';
import {
  JobDeferral,
  LifecycleQueue,
  parseLifecycleJobId,
  PermanentJobError,
  type LifecycleJobContext,
} from '@app/queue';
import { RestoreRolledBackError, SafeRestore } from '../backups/safe-restore';
import { TerminationSafety } from '../backups/termination-safety';
import { ArchiveProvisioner } from '../imports/archive-provisioner';
import type { Config } from '../config/env';
import { InstanceBackupsService } from './instance-backups.service';
import { InstanceLocks, type InstanceLock } from './instance-locks';
import { InstanceMigration, MigrationRolledBackError } from './instance-migration';
import { InstanceRuntime, WaitAbandonedError, type ObservedContainer } from './instance-runtime';
import { LifecycleMetrics } from './lifecycle.metrics';
import { OdooDatabaseProvisioner } from './odoo-database.provisioner';
import { settleAll } from './settle-all';
import { SparePool } from './spare-pool';
import { isDependencyUnreachable } from './unreachable';

export type JobOutcome = 'succeeded' | 'skipped' | 'superseded';

const ACTOR = 'worker';

/** The row changed so that this job no longer applies (terminated, newer intent, operation abandoned). */
/** How long a job waits before trying again when the engine or database could not be reached. */
const DEPENDENCY_WAIT_MS = 3_000;

class SupersededError extends Error {
  constructor(reason: string) {
    super(reason);
    this.name = 'SupersededError';
  }
}

/** An upgrade failed and was rolled back: the job failed, the instance is fine. */
class UpgradeRolledBackError extends PermanentJobError {}

const OPERATION_STATUS: Record<PendingOperation['action'], InstanceStatus> = {
  restart: 'restarting',
  backup: 'backing_up',
  restore: 'restoring',
  upgrade: 'upgrading',
  migrate: 'migrating',
};

/** Whether the operation may start from `status` (an admin's migrate has its own list). */
function operationAllowed(status: InstanceStatus, action: PendingOperation['action']): boolean {
  return action === 'migrate' ? MIGRATABLE_STATUSES.includes(status) : isActionAllowed(status, action);
}

function message(error: unknown): string {
  return (error instanceof Error ? error.message : String(error)).slice(0, 2000);
}

/**
 * Carries out lifecycle jobs. Each job runs under the instance's lock and converges the instance to the
 * state its row asks for, step by idempotent step, so a retried, duplicated or resumed job (after a
 * SIGKILL) ends where one clean run would have. On the last attempt a failure is recorded on the instance
 * (status `error`; a first provisioning also removes everything it created).
 */
@Injectable()
export class InstanceLifecycleService {
  private readonly logger = new Logger(InstanceLifecycleService.name);
  /** The instance lock each running job holds, by job id (checked before every transition it writes). */
  private readonly held = new Map<string, InstanceLock>();

  constructor(
    private readonly instances: InstancesRepository,
    private readonly backupRows: InstanceBackupsRepository,
    private readonly runtime: InstanceRuntime,
    private readonly backups: InstanceBackupsService,
    private readonly provisioner: OdooDatabaseProvisioner,
    private readonly locks: InstanceLocks,
    private readonly queue: LifecycleQueue,
    private readonly metrics: LifecycleMetrics,
    private readonly spares: SparePool,
    private readonly reactivation: TerminationSafety,
    private readonly safeRestore: SafeRestore,
    private readonly archives: ArchiveProvisioner,
    private readonly migration: InstanceMigration,
    @Inject(APP_CONFIG) private readonly config: Config,
  ) {}

  // ---- entry points (one per kind of job) ----------------------------------------------------------------

  /** provision, start, stop, suspend, unsuspend, terminate: converge to the desired state. */
  converge(ctx: LifecycleJobContext): Promise<JobOutcome> {
    return this.locked(ctx, async () => {
      const row = await this.instances.findById(ctx.data.instance_id);
      if (!row) return 'skipped';
      const intent = this.intentGeneration(row);
      if (ctx.data.generation <= row.appliedGeneration) return 'superseded';
      if (row.status === 'terminated' && (row.desiredState === 'terminated' || row.purgedAt))
        return 'skipped';
      try {
        if (row.status === 'terminated') await this.reactivation.reopen(row, ctx);
        return await this.convergeRow(row, ctx, intent);
      } catch (error) {
        return this.onFailure(row.id, ctx, error, async (failure) => {
          const current = await this.instances.findById(row.id);
          if (!current || current.status === 'terminated') return;
          const firstProvisioning = current.startedAt === null && current.desiredState === 'running';
          let cleanup = '';
          if (firstProvisioning) {
            cleanup = await this.removeEverything(current).then(
              () => '; everything it created was removed',
              (e: unknown) => `; cleanup failed: ${message(e)}`,
            );
            await this.instances.patch(current.id, { containerId: null, hostPort: null, internalUrl: null });
          }
          await this.move(current, 'error', ctx, {
            reason: `${ctx.name} failed${cleanup}`,
            patch: { lastError: `${failure}${cleanup}`, statusReason: `${ctx.name} failed` },
            applied: intent,
          });
        });
      }
    });
  }

  /** restart, backup, restore, upgrade: the instance's pending operation of this job. */
  operate(ctx: LifecycleJobContext): Promise<JobOutcome> {
    return this.locked(ctx, async () => {
      const row = await this.instances.findById(ctx.data.instance_id);
      const operation = row?.pendingOperation;
      if (!row || !operation || operation.job_id !== ctx.id) return 'superseded';
      if (row.status === 'terminated') return 'skipped';
      const own = OPERATION_STATUS[operation.action];
      if (row.status !== own && !operationAllowed(row.status, operation.action)) {
        await this.move(row, row.status, ctx, {
          reason: `${operation.action} abandoned: not possible while ${row.status}`,
          completesOperation: true,
        });
        return 'skipped';
      }
      const startStatus = row.status;
      try {
        switch (operation.action) {
          case 'restart':
            return await this.restart(row, ctx);
          case 'backup':
            return await this.backup(row, ctx, operation);
          case 'restore':
            return await this.restore(row, ctx, operation);
          case 'upgrade':
            return await this.upgrade(row, ctx, operation);
          case 'migrate':
            return await this.migration.migrate(
              row,
              ctx,
              operation,
              (current, to, options) => this.move(current, to, ctx, options),
              (current, observed) => this.stableStatus(current, observed),
            );
        }
      } catch (error) {
        return this.onFailure(row.id, ctx, error, async (failure) => {
          const current = await this.instances.findById(row.id);
          if (!current || current.status === 'terminated') return;
          if (
            error instanceof UpgradeRolledBackError ||
            error instanceof RestoreRolledBackError ||
            error instanceof MigrationRolledBackError
          )
            return;
          if (current.status === startStatus && startStatus !== own) {
            // Failed before anything was changed (e.g. a backup whose checksum no longer matches).
            await this.move(current, current.status, ctx, {
              reason: `${operation.action} failed: ${failure}`,
              patch: { lastError: `${operation.action} failed: ${failure}` },
              completesOperation: true,
            });
            return;
          }
          if (operation.action === 'backup') {
            // A failed backup leaves the instance as it was.
            await this.move(current, this.stableStatus(current, await this.runtime.observe(current)), ctx, {
              reason: `backup failed: ${failure}`,
              patch: { lastError: `backup failed: ${failure}` },
              completesOperation: true,
            });
            return;
          }
          await this.move(current, 'error', ctx, {
            reason: `${operation.action} failed`,
            patch: {
              lastError: `${operation.action} failed: ${failure}`,
              statusReason: `${operation.action} failed`,
            },
            completesOperation: true,
          });
        });
      }
    });
  }

  /** Removes container, volume, database, role and backups once the retention after terminate is over. */
  purge(ctx: LifecycleJobContext): Promise<JobOutcome> {
    return this.locked(ctx, async () => {
      const row = await this.instances.findById(ctx.data.instance_id);
      // A reactivated instance (desired state no longer terminated) is not purged.
      if (!row || row.purgedAt || row.status !== 'terminated' || row.desiredState !== 'terminated')
        return 'skipped';
      const wait = (row.purgeAfter?.getTime() ?? 0) - Date.now();
      if (wait > 0) throw new JobDeferral(wait, `purge due at ${row.purgeAfter?.toISOString()}`);
      try {
        await this.removeEverything(row);
        await this.backups.deleteAll(row.id);
      } catch (error) {
        return this.onFailure(row.id, ctx, error, async (failure) => {
          await this.instances.patch(row.id, { lastError: `purge failed: ${failure}` });
        });
      }
      await this.move(row, 'terminated', ctx, {
        reason: 'purged: container, volume, database, role and backups removed',
        patch: {
          purgedAt: new Date(),
          containerId: null,
          hostPort: null,
          internalUrl: null,
          dbPasswordEnc: null,
          adminPasswordEnc: null,
        },
      });
      // Purges of a tenant's instances running at once each saw the others unpurged; whichever records its
      // purge last sees none and frees the network (the sweep does it if a crash falls in between).
      await this.runtime.releaseTenantNetwork(row.tenantId).catch((error: unknown) => {
        this.logger.warn(`tenant network of ${row.tenantId} not released: ${message(error)}`);
      });
      return 'succeeded';
    });
  }

  /** Pushes the row's CPU/memory limits to the container (a new container gets them at creation anyway). */
  applyLimits(ctx: LifecycleJobContext): Promise<JobOutcome> {
    return this.locked(ctx, async () => {
      const row = await this.instances.findById(ctx.data.instance_id);
      if (!row || row.status === 'terminated') return 'skipped';
      const observed = await this.runtime.observe(row);
      if (observed.state === 'missing') return 'skipped';
      try {
        await this.runtime.updateLimits(observed.handle, row);
      } catch (error) {
        return this.onFailure(row.id, ctx, error, async (failure) => {
          await this.instances.patch(row.id, { lastError: `applying limits failed: ${failure}` });
        });
      }
      return 'succeeded';
    });
  }

  // ---- desired state ---------------------------------------------------------------------------------------

  private async convergeRow(
    row: InstanceEntity,
    ctx: LifecycleJobContext,
    intent: number,
  ): Promise<JobOutcome> {
    switch (row.desiredState) {
      case 'terminated':
        return this.terminate(row, ctx, intent);
      case 'running':
        if (
          row.startedAt === null &&
          (row.status === 'pending' || row.status === 'provisioning' || row.status === 'error')
        ) {
          return this.spares.whileProvisioning(() => this.provision(row, ctx, intent));
        }
        return this.bringUp(row, ctx, intent);
      case 'stopped':
      case 'suspended':
        if (row.status === 'pending' || (row.startedAt === null && row.status === 'error')) {
          await this.instances.transition(row.id, {
            to: row.status,
            actor: ACTOR,
            appliedGeneration: intent,
          });
          return 'skipped';
        }
        return this.bringDown(row, ctx, intent, row.desiredState);
    }
  }

  private async provision(
    row: InstanceEntity,
    ctx: LifecycleJobContext,
    intent: number,
  ): Promise<JobOutcome> {
    if (row.status !== 'provisioning') {
      row = await this.move(row, 'provisioning', ctx, {
        reason: ctx.attempt > 1 ? `provisioning (attempt ${ctx.attempt})` : 'provisioning',
        patch: { statusReason: 'provisioning' },
      });
    }
    const image = this.runtime.currentImage(row);
    // A spare (ODOO_SPARE_POOL) brings an initialised database and its role: renamed, not made.
    // An import or a staging copy brings its own database: no spare.
    const spare = row.provisionSource
      ? null
      : await this.metrics.step('spare_claim', () => this.spares.claim(row, image));
    const password = await this.runtime.dbPassword(row);
    let containerId: string;
    if (spare) {
      // The database is there and initialised: its names and settings on one side, and the volume, network
      // and container (no one-shot ever ran for this instance, so none can be left over) on the other are
      // independent of each other; the container is only started once both are done.
      const [, containerReady] = await settleAll([
        (async () => {
          await this.metrics.step('spare_rename', () => this.spares.rename(row, spare));
          await this.runtime.initialiseOdoo(row, password, image, spare);
        })(),
        (async () => {
          // The spare's role has this password already and its database the grants (checked by the rename).
          await this.runtime.ensureBaseResources(row, password, { database: false });
          return this.runtime.ensureContainer(row, password, image);
        })(),
      ]);
      containerId = containerReady;
      await this.checkpoint(row.id, 'running');
    } else if (row.provisionSource) {
      await this.metrics.step('stale_oneshots', () => this.runtime.removeStaleOneShots(row));
      await this.runtime.ensureBaseResources(row, password);
      await this.checkpoint(row.id, 'running');
      containerId = await this.metrics.step('archive_restore', () =>
        this.archives.provision(row, password, image),
      );
      await this.checkpoint(row.id, 'running');
    } else {
      await this.metrics.step('stale_oneshots', () => this.runtime.removeStaleOneShots(row));
      await this.runtime.ensureBaseResources(row, password);
      await this.checkpoint(row.id, 'running');
      await this.runtime.initialiseOdoo(row, password, image);
      await this.checkpoint(row.id, 'running');
      containerId = await this.runtime.ensureContainer(row, password, image);
    }
    const urls = await this.runtime.startAndWait(row, containerId, async () => {
      const current = await this.instances.findById(row.id);
      return current?.desiredState === 'running' ? null : `desired state changed to ${current?.desiredState}`;
    });
    await this.move(row, 'running', ctx, {
      reason: spare
        ? `provisioned (from a spare ${spare.odooVersion} database)`
        : row.provisionSource?.kind === 'import'
          ? 'provisioned from the imported Odoo backup'
          : row.provisionSource?.kind === 'backup'
            ? `provisioned from backup ${row.provisionSource.backup_id} (staging copy)`
            : 'provisioned',
      patch: {
        ...urls,
        image,
        startedAt: new Date(),
        adminPasswordEnc: null,
        lastError: null,
        statusReason: 'running',
      },
      applied: intent,
    });
    if (spare) await this.spares.release(spare);
    if (row.provisionSource) await this.archives.discard(row.id);
    return 'succeeded';
  }

  /** Running again: start the container, recreating it (not the data) when it is gone or outdated. */
  private async bringUp(row: InstanceEntity, ctx: LifecycleJobContext, intent: number): Promise<JobOutcome> {
    const observed = await this.runtime.observe(row);
    if (observed.state === 'running' && row.status === 'running') {
      await this.instances.transition(row.id, { to: 'running', actor: ACTOR, appliedGeneration: intent });
      return 'skipped';
    }
    if (row.status !== 'starting') {
      row = await this.move(row, 'starting', ctx, { reason: ctx.name, patch: { statusReason: 'starting' } });
    }
    const urls = await this.startExisting(row);
    await this.move(row, 'running', ctx, {
      reason: ctx.name === 'unsuspend' ? 'unsuspended' : 'started',
      patch: { ...urls, startedAt: new Date(), statusReason: 'running' },
      applied: intent,
    });
    return 'succeeded';
  }

  private async bringDown(
    row: InstanceEntity,
    ctx: LifecycleJobContext,
    intent: number,
    target: 'stopped' | 'suspended',
  ): Promise<JobOutcome> {
    const observed = await this.runtime.observe(row);
    const final: InstanceStatus =
      observed.state === 'missing' && target === 'stopped' ? 'container_missing' : target;
    if (observed.state !== 'running' && observed.state !== 'unschedulable' && row.status === final) {
      await this.instances.transition(row.id, { to: final, actor: ACTOR, appliedGeneration: intent });
      return 'skipped';
    }
    // An unschedulable instance still wants a node: scaling it down withdraws that.
    if (observed.state === 'running' || observed.state === 'unschedulable') {
      if (row.status !== 'stopping') {
        row = await this.move(row, 'stopping', ctx, {
          reason: ctx.name,
          patch: { statusReason: 'stopping' },
        });
      }
      await this.runtime.stop(observed.handle);
    }
    await this.move(row, final, ctx, {
      reason: target === 'suspended' ? 'suspended: container stopped, data kept' : 'stopped',
      patch: { stoppedAt: new Date(), statusReason: target },
      applied: intent,
    });
    return 'succeeded';
  }

  private async terminate(
    row: InstanceEntity,
    ctx: LifecycleJobContext,
    intent: number,
  ): Promise<JobOutcome> {
    if (row.status !== 'terminating') {
      row = await this.move(row, 'terminating', ctx, {
        reason: 'terminating',
        patch: { statusReason: 'terminating' },
      });
    }
    // The password is stored before anything is created: without it nothing exists to purge.
    const nothingCreated = row.dbPasswordEnc === null;
    const finalBackup = nothingCreated ? null : await this.reactivation.finalBackup(row, ctx);
    const observed = await this.runtime.observe(row);
    if (observed.state === 'running' || observed.state === 'unschedulable') {
      await this.runtime.stop(observed.handle);
    }
    const now = new Date();
    const retentionMs = this.config.INSTANCE_PURGE_AFTER_SECONDS * 1000;
    await this.move(row, 'terminated', ctx, {
      reason: nothingCreated
        ? 'terminated (nothing had been provisioned)'
        : `terminated: container stopped, data kept until ${new Date(now.getTime() + retentionMs).toISOString()}; ${finalBackup}`,
      patch: {
        terminatedAt: now,
        stoppedAt: now,
        purgeAfter: new Date(now.getTime() + retentionMs),
        purgedAt: nothingCreated ? now : null,
        adminPasswordEnc: null,
        statusReason: 'terminated',
      },
      applied: intent,
    });
    if (!nothingCreated) {
      await this.queue.enqueue({
        name: 'purge',
        instanceId: row.id,
        generation: row.generation,
        requestedBy: ACTOR,
        reason: 'retention after terminate',
        delayMs: retentionMs,
      });
    }
    return 'succeeded';
  }

  // ---- operations ------------------------------------------------------------------------------------------

  private async restart(row: InstanceEntity, ctx: LifecycleJobContext): Promise<JobOutcome> {
    const observed = await this.runtime.observe(row);
    if (row.status !== 'restarting') {
      row = await this.move(row, 'restarting', ctx, {
        reason: 'restarting',
        patch: { statusReason: 'restarting' },
      });
    }
    const urls =
      observed.state === 'running' && row.startedAt !== null
        ? await this.runtime.restartAndWait(row, observed.handle)
        : await this.startExisting(row);
    await this.move(row, 'running', ctx, {
      reason: 'restarted',
      patch: { ...urls, startedAt: new Date(), statusReason: 'running', lastError: null },
      completesOperation: true,
    });
    return 'succeeded';
  }

  private async backup(
    row: InstanceEntity,
    ctx: LifecycleJobContext,
    operation: PendingOperation,
  ): Promise<JobOutcome> {
    const observed = await this.runtime.observe(row);
    if (observed.state === 'missing')
      throw new PermanentJobError('the container is missing: nothing to back up');
    if (row.status !== 'backing_up') {
      row = await this.move(row, 'backing_up', ctx, {
        reason: 'backing up',
        patch: { statusReason: 'backing up' },
      });
    }
    const backup = await this.backups.create(row, observed.handle, {
      kind: operation.params.kind ?? 'manual',
      jobId: ctx.id,
      requestedBy: operation.requested_by,
    });
    await this.ensureLockHeld(ctx);
    const removed = await this.backups.applyRetention(row.id);
    await this.move(row, this.stableStatus(row, await this.runtime.observe(row)), ctx, {
      reason: `backup ${backup.id} completed${removed ? `; ${removed} old backup(s) removed` : ''}`,
      patch: { statusReason: 'backup completed' },
      completesOperation: true,
    });
    return 'succeeded';
  }

  private async restore(
    row: InstanceEntity,
    ctx: LifecycleJobContext,
    operation: PendingOperation,
  ): Promise<JobOutcome> {
    const backupId = operation.params.backup_id;
    const backup = backupId ? await this.backupRows.findForInstance(row.id, backupId) : null;
    if (!backup)
      throw new PermanentJobError(`backup ${backupId ?? '(none)'} of this instance does not exist`);
    await this.backups.verify(backup);
    if (row.status !== 'restoring') {
      row = await this.move(row, 'restoring', ctx, {
        reason: `restoring backup ${backup.id}`,
        patch: { statusReason: 'restoring' },
      });
    }
    const image = backup.image ?? this.runtime.imageFor(backup.odooVersion);
    const [oldImage, oldVersion] = [this.runtime.currentImage(row), row.odooVersion];
    let urls: Awaited<ReturnType<InstanceLifecycleService['startExisting']>> | null;
    let safety: { id: string } | null;
    try {
      safety = await this.safeRestore.safetyCopy(row, ctx);
      const plan = await this.safeRestore.restoreAndSwitch(row, backup, operation.generation, image);
      try {
        urls = row.desiredState === 'running' ? await this.startExisting(row) : null;
      } catch (error) {
        if (error instanceof JobDeferral) throw error;
        await this.safeRestore.revert(row, plan, oldImage, oldVersion);
        throw new RestoreRolledBackError(
          `backup ${backup.id} restored but the instance did not start on it (${message(error)}); the data before the restore is back`,
        );
      }
      await this.safeRestore.dropReplaced(row, plan);
    } catch (error) {
      if (!(error instanceof RestoreRolledBackError)) throw error;
      const back = row.desiredState === 'running' ? await this.startExisting(row) : null;
      await this.move(row, back ? 'running' : this.stableStatus(row, await this.runtime.observe(row)), ctx, {
        reason: error.message,
        patch: { ...(back ?? {}), lastError: error.message, statusReason: 'restore rolled back' },
        completesOperation: true,
      });
      throw error;
    }
    await this.move(row, urls ? 'running' : this.stableStatus(row, await this.runtime.observe(row)), ctx, {
      reason: `backup ${backup.id} restored${safety ? ` (pre_restore backup ${safety.id} taken first)` : ''}`,
      patch: {
        ...(urls ?? {}),
        ...(urls ? { startedAt: new Date() } : {}),
        statusReason: 'restored',
        lastError: null,
      },
      completesOperation: true,
    });
    return 'succeeded';
  }

  private async upgrade(
    row: InstanceEntity,
    ctx: LifecycleJobContext,
    operation: PendingOperation,
  ): Promise<JobOutcome> {
    const target = operation.params.version;
    if (!target) throw new PermanentJobError('upgrade without a target version');
    const newImage = this.runtime.imageFor(target);
    if (row.status !== 'upgrading') {
      row = await this.move(row, 'upgrading', ctx, {
        reason: `upgrading from ${row.odooVersion} to ${target}`,
        patch: { statusReason: `upgrading to ${target}` },
      });
    }
    const existingBackup = await this.backupRows.findByJob(ctx.id);
    // Resumed after the switch was recorded: only bring it up again.
    if (row.odooVersion === target && existingBackup?.status === 'completed') {
      const urls = row.desiredState === 'running' ? await this.startExisting(row) : null;
      await this.finishUpgrade(row, ctx, urls, `upgraded to ${target}`);
      return 'succeeded';
    }
    const oldVersion = row.odooVersion;
    const oldImage = this.runtime.currentImage(row);
    await this.runtime.removeStaleOneShots(row);
    const observed = await this.runtime.observe(row);
    if (observed.state === 'missing') {
      throw new PermanentJobError('the container is missing: restore it first');
    }
    const backup = await this.backups.create(row, observed.handle, {
      kind: 'pre_upgrade',
      jobId: ctx.id,
      requestedBy: operation.requested_by,
    });
    await this.runtime.stop(observed.handle);
    try {
      const password = await this.runtime.dbPassword(row);
      await this.runtime.runOdooOneShot(row, password, newImage, 'upgrade', ['--update=all']);
      await this.instances.patch(row.id, { odooVersion: target as InstanceEntity['odooVersion'] });
      row.odooVersion = target as InstanceEntity['odooVersion'];
      const containerId = await this.runtime.ensureContainer(row, password, newImage);
      const urls = row.desiredState === 'running' ? await this.runtime.startAndWait(row, containerId) : null;
      await this.finishUpgrade(row, ctx, urls, `upgraded from ${oldVersion} to ${target}`);
      await this.ensureLockHeld(ctx);
      await this.backups.applyRetention(row.id);
      return 'succeeded';
    } catch (error) {
      if (error instanceof JobDeferral) throw error;
      const failure = message(error);
      // The engine or database went away mid-upgrade: nothing says the new version is bad. Wait and resume
      // (the pre_upgrade backup is kept and reused) rather than roll back without them.
      if (isDependencyUnreachable(error)) throw await this.waitForDependency(row.id, failure);
      this.logger.warn(`instance ${row.id}: upgrade to ${target} failed (${failure}); rolling back`);
      await this.restoreFromBackup(row, backup.id, oldVersion, oldImage);
      const urls = row.desiredState === 'running' ? await this.startExisting(row) : null;
      const note = `upgrade to ${target} failed: ${failure}; rolled back to ${oldVersion} from backup ${backup.id}`;
      await this.move(row, urls ? 'running' : this.stableStatus(row, await this.runtime.observe(row)), ctx, {
        reason: note,
        patch: { ...(urls ?? {}), lastError: note, statusReason: 'upgrade rolled back' },
        completesOperation: true,
      });
      throw new UpgradeRolledBackError(note);
    }
  }

  private async finishUpgrade(
    row: InstanceEntity,
    ctx: LifecycleJobContext,
    urls: { hostPort: number | null; internalUrl: string; externalUrl: string } | null,
    reason: string,
  ): Promise<void> {
    await this.move(row, urls ? 'running' : this.stableStatus(row, await this.runtime.observe(row)), ctx, {
      reason,
      patch: {
        ...(urls ?? {}),
        ...(urls ? { startedAt: new Date() } : {}),
        statusReason: reason,
        lastError: null,
      },
      completesOperation: true,
    });
  }

  // ---- shared steps ----------------------------------------------------------------------------------------

  /** Container, volume, database, role (also under a claimed spare's names), network if unused. */
  private async removeEverything(row: InstanceEntity): Promise<void> {
    await this.spares.removeClaimed(row);
    await this.runtime.removeEverything(row);
    await this.archives.discard(row.id);
  }

  /**
   * Starts the instance's container, recreating it (with the current spec) when missing or outdated. Its
   * database must exist: recreating an empty one would hide a data loss, so that is a permanent error.
   */
  private async startExisting(
    row: InstanceEntity,
  ): Promise<{ hostPort: number | null; internalUrl: string; externalUrl: string }> {
    const names = this.runtime.names(row);
    const state = await this.provisioner.state(names.database, names.dbRole);
    if (!state.databaseExists) {
      throw new PermanentJobError(`database ${names.database} is missing; restore a backup`);
    }
    const password = await this.runtime.dbPassword(row);
    await this.runtime.ensureBaseResources(row, password);
    const containerId = await this.runtime.ensureContainer(row, password, this.runtime.currentImage(row));
    return this.runtime.startAndWait(row, containerId);
  }

  /** Database from the dump, data volume from the archive, container (not started) on `image`. */
  private async restoreFromBackup(
    row: InstanceEntity,
    backupId: string,
    version: string,
    image: string,
  ): Promise<void> {
    const backup = await this.backupRows.findForInstance(row.id, backupId);
    if (!backup) throw new PermanentJobError(`backup ${backupId} vanished`);
    const password = await this.runtime.dbPassword(row);
    await this.runtime.removeContainer(row);
    await this.backups.restoreDatabase(row, backup, password);
    await this.runtime.removeVolume(row);
    await this.runtime.ensureBaseResources(row, password);
    const patch: InstancePatch = { odooVersion: version as InstanceEntity['odooVersion'], image };
    await this.instances.patch(row.id, patch);
    Object.assign(row, patch);
    const containerId = await this.runtime.ensureContainer(row, password, image);
    await this.runtime.copyDataIn(row, containerId, this.backups.filestoreTar(backup));
  }

  /** What the status is when no job is acting: follows the container, `suspended` while suspended. */
  stableStatus(row: Pick<InstanceEntity, 'desiredState'>, observed: ObservedContainer): InstanceStatus {
    if (observed.state === 'running') return 'running';
    if (row.desiredState === 'suspended') return 'suspended';
    if (observed.state === 'unschedulable') return 'unschedulable';
    return observed.state === 'stopped' ? 'stopped' : 'container_missing';
  }

  /** The generation of the latest desired-state intent (what a converge job converges to). */
  private intentGeneration(row: InstanceEntity): number {
    const parsed = row.desiredJobId ? parseLifecycleJobId(row.desiredJobId) : null;
    return parsed?.generation ?? row.generation;
  }

  /** Aborts a provisioning step when the instance no longer wants to run (e.g. terminated meanwhile). */
  private async checkpoint(id: string, desired: InstanceEntity['desiredState']): Promise<void> {
    const row = await this.instances.findById(id);
    if (!row || row.desiredState !== desired) {
      throw new SupersededError(`desired state changed to ${row?.desiredState ?? 'deleted'}`);
    }
  }

  private async move(
    row: InstanceEntity,
    to: InstanceStatus,
    ctx: LifecycleJobContext,
    options: {
      reason: string;
      patch?: InstancePatch;
      applied?: number;
      completesOperation?: boolean;
    },
  ): Promise<InstanceEntity> {
    await this.ensureLockHeld(ctx);
    const from = row.status;
    const updated = await this.instances.transition(row.id, {
      from: [from],
      to,
      actor: ACTOR,
      reason: options.reason,
      jobId: ctx.id,
      action: ctx.name,
      patch: options.patch,
      appliedGeneration: options.applied,
      completesOperationJobId: options.completesOperation ? ctx.id : undefined,
    });
    if (!updated) throw new SupersededError(`instance ${row.id} is no longer ${from}`);
    if (from !== to) this.metrics.transitions.inc({ from, to });
    Object.assign(row, updated);
    return row;
  }

  private async locked(ctx: LifecycleJobContext, fn: () => Promise<JobOutcome>): Promise<JobOutcome> {
    // The lock lives in the database: while it restarts, the job waits for it instead of spending an attempt
    // (seen in `npm run chaos`: a backup's last attempt failed here and left the instance `backing_up`).
    const lock = await this.locks.tryAcquire(ctx.data.instance_id).catch((error: unknown) => {
      if (isDependencyUnreachable(error)) {
        throw new JobDeferral(DEPENDENCY_WAIT_MS, `instance lock: database unreachable (${message(error)})`);
      }
      throw error;
    });
    if (!lock) throw new JobDeferral(500 + Math.floor(Math.random() * 500), 'instance busy with another job');
    this.held.set(ctx.id, lock);
    try {
      return await fn();
    } catch (error) {
      if (error instanceof SupersededError || error instanceof WaitAbandonedError) {
        this.logger.log(`${ctx.id}: superseded (${error.message})`);
        return 'superseded';
      }
      throw error;
    } finally {
      this.held.delete(ctx.id);
      await lock.release();
    }
  }

  /** Throws LockLostError (a deferral) when the job's instance lock went with its session and is held elsewhere. */
  private async ensureLockHeld(ctx: LifecycleJobContext): Promise<void> {
    await this.held.get(ctx.id)?.ensureHeld();
  }

  /**
   * The job's last attempt met an unreachable engine or database: nothing was decided, so the job waits and
   * resumes (every step is idempotent) instead of leaving the instance half-way in a failed state.
   */
  private async waitForDependency(instanceId: string, failure: string): Promise<JobDeferral> {
    await this.instances
      .patch(instanceId, { statusReason: `waiting for an unreachable dependency: ${failure.slice(0, 300)}` })
      .catch(() => undefined);
    return new JobDeferral(DEPENDENCY_WAIT_MS, `dependency unreachable: ${failure}`);
  }

  /**
   * Records the failure when no retry follows (last attempt or permanent error), then rethrows so BullMQ
   * retries or fails the job visibly.
   */
  private async onFailure(
    instanceId: string,
    ctx: LifecycleJobContext,
    error: unknown,
    record: (failure: string) => Promise<void>,
  ): Promise<never> {
    if (
      error instanceof SupersededError ||
      error instanceof WaitAbandonedError ||
      error instanceof JobDeferral
    ) {
      throw error;
    }
    const failure = message(error);
    const final = ctx.isFinalAttempt || error instanceof UnrecoverableError;
    this.logger.warn(`${ctx.id} attempt ${ctx.attempt}/${ctx.maxAttempts} failed: ${failure}`);
    if (final && isDependencyUnreachable(error)) throw await this.waitForDependency(instanceId, failure);
    if (final) {
      try {
        await record(failure);
      } catch (recordError) {
        // Recording the outcome needs the engine too (the status follows the container): wait for it.
        if (isDependencyUnreachable(recordError)) {
          throw await this.waitForDependency(instanceId, message(recordError));
        }
        throw recordError;
      }
    } else {
      await this.instances.patch(instanceId, {
        statusReason: `${ctx.name} attempt ${ctx.attempt} failed, retrying: ${failure.slice(0, 300)}`,
      });
    }
    throw error;
  }
}
