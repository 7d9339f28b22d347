import { Injectable, Logger } from '@nestjs/common';
import { InstancesRepository, type InstanceEntity } from '@app/instance-data';
import { JobDeferral, type LifecycleJobContext } from '@app/queue';
import { InstanceBackupsService } from '../lifecycle/instance-backups.service';
import { InstanceRuntime } from '../lifecycle/instance-runtime';

function message(error: unknown): string {
  return (error instanceof Error ? error.message : String(error)).slice(0, 500);
}

/**
 * Termination is reversible (issue #15): `terminate` takes a `final` backup before it stops the instance, the
 * data and that backup stay until the purge, and a reactivation before then reopens the instance as it was.
 * Facts only: the lifecycle service owns the job and records what this returns.
 */
@Injectable()
export class TerminationSafety {
  private readonly logger = new Logger(TerminationSafety.name);

  constructor(
    private readonly instances: InstancesRepository,
    private readonly runtime: InstanceRuntime,
    private readonly backups: InstanceBackupsService,
  ) {}

  /**
   * The `final` backup of this terminate job (resumed, not repeated, by a retry). A failure is retried with
   * the job; on its last attempt the termination goes on without it (the data itself is still kept until the
   * purge) and the returned note says so, in the event.
   */
  async finalBackup(row: InstanceEntity, ctx: LifecycleJobContext): Promise<string> {
    const observed = await this.runtime.observe(row);
    if (observed.state === 'missing') return 'no final backup: the container is missing (data kept as it is)';
    try {
      const backup = await this.backups.create(row, observed.handle, {
        kind: 'final',
        jobId: ctx.id,
        requestedBy: ctx.data.requested_by,
      });
      return `final backup ${backup.id} taken${backup.verification ? ` (verification ${backup.verification})` : ''}`;
    } catch (error) {
      if (error instanceof JobDeferral || !ctx.isFinalAttempt) throw error;
      this.logger.warn(`instance ${row.id}: final backup failed on the last attempt: ${message(error)}`);
      return `final backup failed: ${message(error)} (data kept as it is)`;
    }
  }

  /**
   * Reopens a terminated instance whose desired state is no longer `terminated` (reactivate): back to the
   * status its container shows, the termination and its purge date cleared. The converge that follows
   * starts it when it was running.
   */
  async reopen(row: InstanceEntity, ctx: LifecycleJobContext): Promise<void> {
    const observed = await this.runtime.observe(row);
    const updated = await this.instances.transition(row.id, {
      from: ['terminated'],
      to: observed.state === 'missing' ? 'container_missing' : 'stopped',
      actor: 'worker',
      action: 'reactivate',
      reason: 'reactivated: the data kept since termination is back',
      jobId: ctx.id,
      patch: { terminatedAt: null, purgeAfter: null, statusReason: 'reactivated' },
      reopensTerminated: true,
    });
    if (!updated) throw new Error(`instance ${row.id} could not be reopened (purged or terminated again)`);
    Object.assign(row, updated);
  }
}
