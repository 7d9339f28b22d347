import { Inject, Injectable, Logger } from '@nestjs/common';
import { rm } from 'node:fs/promises';
import { resolve } from 'node:path';
import { APP_CONFIG } from '@app/config';
import {
  InstanceBackupsRepository,
  InstancesRepository,
  type InstanceBackupEntity,
} from '@app/instance-data';
import { LifecycleQueue } from '@app/queue';
import type { Config } from '../config/env';
import { InstanceBackupsService } from '../lifecycle/instance-backups.service';
import { InstanceLocks } from '../lifecycle/instance-locks';
import { BackupVerifier } from './backup-verifier';

/** A backup job this long without progress may be dead; its BullMQ state decides. */
const RUNNING_GRACE_SECONDS = 120;
/** A completed backup is verified right after; this long without a result, the verification was cut short. */
const UNVERIFIED_GRACE_SECONDS = 60;

function message(error: unknown): string {
  return (error instanceof Error ? error.message : String(error)).slice(0, 500);
}

/**
 * Settles what a dead worker left (SIGKILL, ENOSPC, a lost host) so that no backup stays half-made or
 * unchecked: a `running` backup whose job is no longer queued or active becomes `failed` (partial files
 * removed), and a `completed` backup never verified gets its test restore. Runs under the instance's lock
 * (skipped while a job holds it), once per reconciler sweep.
 */
@Injectable()
export class BackupSweeper {
  private readonly logger = new Logger(BackupSweeper.name);

  constructor(
    private readonly backups: InstanceBackupsRepository,
    private readonly instances: InstancesRepository,
    private readonly files: InstanceBackupsService,
    private readonly verifier: BackupVerifier,
    private readonly locks: InstanceLocks,
    private readonly queue: LifecycleQueue,
    @Inject(APP_CONFIG) private readonly config: Config,
  ) {}

  async sweep(): Promise<void> {
    const unsettled = await this.backups.listUnsettled(RUNNING_GRACE_SECONDS, UNVERIFIED_GRACE_SECONDS);
    for (const backup of unsettled) {
      try {
        await this.settle(backup);
      } catch (error) {
        this.logger.warn(`backup ${backup.id}: ${message(error)}`);
      }
    }
  }

  private async settle(candidate: InstanceBackupEntity): Promise<void> {
    if (candidate.status === 'completed' && !this.config.BACKUP_VERIFY) return;
    if (candidate.status === 'running' && candidate.jobId) {
      const state = await this.queue.getJobState(candidate.jobId);
      if (state !== 'unknown' && state !== 'failed' && state !== 'completed') return;
    }
    const lock = await this.locks.tryAcquire(candidate.instanceId);
    if (!lock) return;
    try {
      const backup = await this.backups.findById(candidate.id);
      const instance = await this.instances.findById(candidate.instanceId);
      if (!backup || !instance || instance.purgedAt) return;
      if (backup.status === 'running') {
        await rm(resolve(this.files.instanceDir(instance.id), backup.id), { recursive: true, force: true });
        await this.backups.markFailed(
          backup.id,
          'the job that made it ended without finishing (the worker stopped)',
        );
        this.logger.warn(
          `backup ${backup.id} of instance ${instance.id}: left running by a dead job, now failed`,
        );
      } else if (backup.status === 'completed' && backup.verification === null) {
        await this.verifier.verify(instance, backup);
      }
    } finally {
      await lock.release();
    }
  }
}
