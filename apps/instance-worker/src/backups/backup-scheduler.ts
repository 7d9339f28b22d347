import { Inject, Injectable, Logger } from '@nestjs/common';
import { APP_CONFIG } from '@app/config';
import { isActionAllowed } from '@app/contracts';
import { DomainError } from '@app/http';
import { InstanceBackupsRepository, InstancesRepository, type InstanceEntity } from '@app/instance-data';
import { LifecycleQueue } from '@app/queue';
import type { Config } from '../config/env';
import { isScheduledBackupDue } from './backup-schedule';

const ACTOR = 'backup-scheduler';

/**
 * Daily scheduled backups. Called by the reconciler's sweep for each instance: when its slot has passed since
 * its newest scheduled backup, a `backup` operation of kind `scheduled` is recorded in the row (the same way
 * as a customer's, so it is re-enqueued if lost and never runs beside another operation) and enqueued.
 * Nothing is kept in memory: a restart loses no schedule.
 */
@Injectable()
export class BackupScheduler {
  private readonly logger = new Logger(BackupScheduler.name);

  constructor(
    private readonly instances: InstancesRepository,
    private readonly backups: InstanceBackupsRepository,
    private readonly queue: LifecycleQueue,
    @Inject(APP_CONFIG) private readonly config: Config,
  ) {}

  /** Records and enqueues the instance's scheduled backup when it is due; true when it did. */
  async enqueueIfDue(row: InstanceEntity, now = new Date()): Promise<boolean> {
    if (this.config.BACKUP_SCHEDULE === 'off') return false;
    if (row.purgedAt || row.desiredState === 'terminated' || row.pendingOperation || row.startedAt === null)
      return false;
    if (!isActionAllowed(row.status, 'backup')) return false;
    const last = await this.backups.newestOfKind(row.id, 'scheduled');
    const due = isScheduledBackupDue({
      now,
      instanceId: row.id,
      instanceCreatedAt: row.createdAt,
      lastScheduledAt: last?.createdAt ?? null,
      schedule: this.config.BACKUP_SCHEDULE,
      spreadMinutes: this.config.BACKUP_SCHEDULE_SPREAD_MINUTES,
    });
    if (!due) return false;
    try {
      const recorded = await this.instances.requestAction(
        row.id,
        'backup',
        { kind: 'scheduled' },
        { actor: ACTOR, reason: 'scheduled daily backup' },
      );
      await this.queue.enqueue(recorded.job);
      this.logger.log(`instance ${row.id}: scheduled backup enqueued (${recorded.job.generation})`);
      return true;
    } catch (error) {
      // Another operation got there first or the status changed: the next sweep tries again.
      if (error instanceof DomainError) return false;
      throw error;
    }
  }
}
