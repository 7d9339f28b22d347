import { Inject, Injectable, Logger } from '@nestjs/common';
import { APP_CONFIG } from '@app/config';
import type { InstanceStatus } from '@app/contracts';
import { InstancesRepository, type InstanceEntity } from '@app/instance-data';
import { LifecycleQueue, parseLifecycleJobId } from '@app/queue';
import type { Config } from '../config/env';
import {
  PLACEMENT_BACKEND,
  type PlacementBackend,
  type PlacementEvent,
} from '../placement/placement-backend';
import { InstanceLifecycleService } from './instance-lifecycle.service';
import { BackupScheduler } from '../backups/backup-scheduler';
import { BackupSweeper } from '../backups/backup-sweeper';
import { InstanceLocks } from './instance-locks';
import { InstanceRuntime } from './instance-runtime';
import { LifecycleMetrics } from './lifecycle.metrics';
import { TenantNetworks } from './tenant-networks';

const ACTOR_SWEEP = 'reconciler';
const ACTOR_DOCKER = 'docker';

/** Statuses that follow the container when no job is acting. Transitional ones belong to their job. */
const OBSERVED_STATUSES: readonly InstanceStatus[] = [
  'running',
  'stopped',
  'suspended',
  'container_missing',
  'unschedulable',
];

/**
 * Converges what is recorded with what exists:
 * - suspensions: an instance billing or an admin holds suspended whose desired state says otherwise (a lost
 *   or overridden write) wants `suspended` again, from the recorded source (level-triggered);
 * - lost work: a desired-state intent newer than what the worker applied, or a pending operation, whose
 *   job is not in the queue, is enqueued again under the same deterministic id; a purge that is due too;
 * - drift: Docker events (start, die, stop, destroy, oom) and a periodic sweep make the status follow a
 *   container stopped, killed, started or removed behind the platform's back. Only when no job holds the
 *   instance's lock, only from non-transitional statuses, never for `terminated`; a suspended or
 *   terminated instance's container that was started anyway is stopped again.
 */
@Injectable()
export class InstanceReconciler {
  private readonly logger = new Logger(InstanceReconciler.name);
  private abort?: AbortController;
  private eventsLoop?: Promise<void>;
  private timer?: NodeJS.Timeout;
  private sweeping?: Promise<void>;

  constructor(
    private readonly instances: InstancesRepository,
    private readonly runtime: InstanceRuntime,
    private readonly lifecycle: InstanceLifecycleService,
    @Inject(PLACEMENT_BACKEND) private readonly placement: PlacementBackend,
    private readonly locks: InstanceLocks,
    private readonly queue: LifecycleQueue,
    private readonly metrics: LifecycleMetrics,
    private readonly networks: TenantNetworks,
    private readonly backupSchedule: BackupScheduler,
    private readonly backupSweeper: BackupSweeper,
    @Inject(APP_CONFIG) private readonly config: Config,
  ) {}

  start(): void {
    if (this.abort) return;
    const abort = new AbortController();
    this.abort = abort;
    this.eventsLoop = this.placement.events((event) => this.onPlacementEvent(event), abort.signal, {
      since: new Date(Date.now() - 1000),
    });
    this.schedule();
  }

  async stop(): Promise<void> {
    this.abort?.abort();
    this.abort = undefined;
    clearTimeout(this.timer);
    this.timer = undefined;
    await this.eventsLoop?.catch(() => undefined);
    await this.sweeping?.catch(() => undefined);
  }

  /** One pass over every instance whose data may exist. */
  async sweep(): Promise<void> {
    const rows = await this.instances.listUnpurged();
    for (const row of rows) {
      try {
        await this.reassertSuspension(row);
        await this.requeueLostWork(row);
        await this.enqueueDuePurge(row);
        await this.followContainer(row, ACTOR_SWEEP, 'periodic sweep');
        await this.backupSchedule.enqueueIfDue(row);
      } catch (error) {
        this.logger.warn(`reconcile ${row.id}: ${error instanceof Error ? error.message : String(error)}`);
      }
    }
    await this.backupSweeper.sweep().catch((error: unknown) => {
      this.logger.warn(`backups: ${error instanceof Error ? error.message : String(error)}`);
    });
    // A recreated Traefik/Postgres container (compose up) lost its tenant networks: connect it again.
    const tenants = new Set(rows.filter((r) => r.status === 'running').map((r) => r.tenantId));
    for (const tenantId of tenants) {
      await this.networks.ensure(tenantId).catch((error: unknown) => {
        this.logger.warn(
          `tenant network of ${tenantId}: ${error instanceof Error ? error.message : String(error)}`,
        );
      });
    }
    // The network of a tenant whose instances are all purged is not needed any more.
    try {
      const released = await this.networks.releaseOrphans(
        new Set(rows.map((r) => r.tenantId)),
        2 * this.config.RECONCILE_INTERVAL_MS,
      );
      if (released > 0) this.metrics.reconciler.inc({ kind: 'network_released' }, released);
    } catch (error) {
      this.logger.warn(`tenant networks: ${error instanceof Error ? error.message : String(error)}`);
    }
  }

  private schedule(): void {
    if (!this.abort) return;
    this.timer = setTimeout(() => {
      this.sweeping = this.sweep()
        .catch((error: unknown) => this.logger.warn(`sweep: ${String(error)}`))
        .finally(() => this.schedule());
    }, this.config.RECONCILE_INTERVAL_MS);
  }

  private async onPlacementEvent(event: PlacementEvent): Promise<void> {
    const row = await this.instances.findById(event.instanceId);
    if (!row || row.purgedAt) return;
    // Events of an older container of the same instance (replaced by a recreate) are history.
    if (row.containerId && row.containerId !== event.handle) return;
    await this.followContainer(
      row,
      ACTOR_DOCKER,
      `${this.placement.kind} ${event.action}${event.exitCode !== undefined ? ` (exit ${event.exitCode})` : ''}`,
    );
  }

  /** Billing and admin suspensions hold whatever happened to the desired state; the job converges it. */
  private async reassertSuspension(row: InstanceEntity): Promise<void> {
    const enforced = row.suspensionSources.some((source) => source === 'billing' || source === 'admin');
    if (!enforced || row.desiredState === 'suspended' || row.desiredState === 'terminated') return;
    const recorded = await this.instances.reassertSuspension(row.id, {
      actor: ACTOR_SWEEP,
      reason: `suspended by ${row.suspensionSources.join(', ')}: desired state was ${row.desiredState}`,
    });
    if (!recorded.job) return;
    Object.assign(row, recorded.instance);
    await this.queue.enqueue(recorded.job);
    this.metrics.reconciler.inc({ kind: 'suspension_reapplied' });
    this.logger.warn(`instance ${row.id}: suspension by ${row.suspensionSources.join(', ')} re-applied`);
  }

  private async requeueLostWork(row: InstanceEntity): Promise<void> {
    const desired = row.desiredJobId ? parseLifecycleJobId(row.desiredJobId) : null;
    if (desired && row.desiredJobId && desired.generation > row.appliedGeneration && !row.purgedAt) {
      const state = await this.queue.getJobState(row.desiredJobId);
      if (state === 'unknown') {
        await this.queue.enqueue({
          name: desired.name,
          instanceId: row.id,
          generation: desired.generation,
          requestedBy: ACTOR_SWEEP,
          reason: 'job was never enqueued or got lost',
        });
        this.metrics.reconciler.inc({ kind: 'requeued_desired' });
        this.logger.log(`re-enqueued lost job ${row.desiredJobId}`);
      } else if (state === 'failed') {
        await this.underLock(row.id, async (current) => {
          if (current.appliedGeneration >= desired.generation || current.status === 'terminated') return;
          const job = await this.queue.getJob(row.desiredJobId ?? '');
          await this.instances.transition(current.id, {
            from: [current.status],
            to: 'error',
            actor: ACTOR_SWEEP,
            reason: `job ${row.desiredJobId} failed`,
            jobId: row.desiredJobId,
            patch: { lastError: job?.failedReason ?? 'job failed' },
            appliedGeneration: desired.generation,
          });
          this.metrics.reconciler.inc({ kind: 'failed_job_recorded' });
        });
      }
    }
    const operation = row.pendingOperation;
    if (operation) {
      const state = await this.queue.getJobState(operation.job_id);
      if (state === 'unknown') {
        await this.queue.enqueue({
          name: operation.action,
          instanceId: row.id,
          generation: operation.generation,
          params: operation.params,
          requestedBy: ACTOR_SWEEP,
          reason: 'job was never enqueued or got lost',
        });
        this.metrics.reconciler.inc({ kind: 'requeued_operation' });
        this.logger.log(`re-enqueued lost job ${operation.job_id}`);
      } else if (state === 'failed' || state === 'completed') {
        await this.underLock(row.id, async (current) => {
          if (current.pendingOperation?.job_id !== operation.job_id) return;
          const job = await this.queue.getJob(operation.job_id);
          // A status in the middle of a step the job never finished settles as the job's own failure record
          // would: a backup leaves the instance as its container is; anything else half-done is `error`
          // (seen in `npm run chaos`: a backup job that died with the database left it `backing_up` for good).
          const to: InstanceStatus =
            current.status === 'backing_up'
              ? this.lifecycle.stableStatus(current, await this.runtime.observe(current))
              : state === 'failed' &&
                  !OBSERVED_STATUSES.includes(current.status) &&
                  !['pending', 'terminated', 'error'].includes(current.status)
                ? 'error'
                : current.status;
          await this.instances.transition(current.id, {
            from: [current.status],
            to,
            actor: ACTOR_SWEEP,
            action: operation.action,
            reason: `${operation.action} job ended (${state}) without finishing`,
            jobId: operation.job_id,
            patch: { lastError: job?.failedReason ?? `${operation.action} did not finish` },
            completesOperationJobId: operation.job_id,
          });
        });
      }
    }
  }

  private async enqueueDuePurge(row: InstanceEntity): Promise<void> {
    if (
      row.status !== 'terminated' ||
      row.purgedAt ||
      !row.purgeAfter ||
      row.purgeAfter.getTime() > Date.now()
    ) {
      return;
    }
    const { created } = await this.queue.enqueue({
      name: 'purge',
      instanceId: row.id,
      generation: row.generation,
      requestedBy: ACTOR_SWEEP,
      reason: 'retention after terminate is over',
    });
    if (created) this.metrics.reconciler.inc({ kind: 'purge_enqueued' });
  }

  /** Status follows the container (only when no job acts on the instance). */
  private async followContainer(row: InstanceEntity, actor: string, cause: string): Promise<void> {
    const enforce = row.desiredState === 'suspended' || row.desiredState === 'terminated';
    if (!OBSERVED_STATUSES.includes(row.status) && !(row.status === 'terminated' && enforce)) return;
    if (row.containerId === null && row.status !== 'container_missing') return;
    await this.underLock(row.id, async (current) => {
      const observed = await this.runtime.observe(current);
      if (
        (observed.state === 'running' || observed.state === 'unschedulable') &&
        (current.desiredState === 'suspended' || current.desiredState === 'terminated')
      ) {
        await this.runtime.stop(observed.handle);
        this.metrics.reconciler.inc({ kind: 'stop_enforced' });
        this.logger.warn(
          `instance ${current.id}: container started while ${current.desiredState}; stopped again`,
        );
        if (current.status === 'terminated') return;
        return this.record(current, 'suspended', actor, `${cause}: started while suspended, stopped again`);
      }
      if (current.status === 'terminated' || !OBSERVED_STATUSES.includes(current.status)) return;
      const expected = this.lifecycle.stableStatus(current, observed);
      if (expected !== current.status) {
        const what = observed.state === 'missing' ? 'removed' : observed.state;
        await this.record(current, expected, actor, `${cause}: container ${what} outside the platform`, {
          ...(observed.state === 'missing' ? { containerId: null, hostPort: null } : {}),
          ...(observed.state === 'running' ? { startedAt: new Date() } : { stoppedAt: new Date() }),
        });
        this.metrics.reconciler.inc({ kind: `drift_${expected}` });
      }
      if (observed.state === 'running') {
        if (this.runtime.limitsDiffer(observed, current)) {
          await this.runtime.updateLimits(observed.handle, current);
          this.metrics.reconciler.inc({ kind: 'limits_applied' });
        }
      }
    });
  }

  private async record(
    row: InstanceEntity,
    to: InstanceStatus,
    actor: string,
    reason: string,
    patch: Parameters<InstancesRepository['patch']>[1] = {},
  ): Promise<void> {
    const updated = await this.instances.transition(row.id, {
      from: [row.status],
      to,
      actor,
      reason,
      action: 'drift',
      patch: { ...patch, statusReason: reason },
    });
    if (updated && row.status !== to) this.metrics.transitions.inc({ from: row.status, to });
  }

  private async underLock(id: string, fn: (row: InstanceEntity) => Promise<void>): Promise<void> {
    const lock = await this.locks.tryAcquire(id);
    if (!lock) return;
    try {
      const row = await this.instances.findById(id);
      if (row) await fn(row);
    } finally {
      await lock.release();
    }
  }
}
