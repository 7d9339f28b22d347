import { Inject, Injectable, Logger } from '@nestjs/common';
import { statfs } from 'node:fs/promises';
import { dirname } from 'node:path';
import { Gauge } from 'prom-client';
import { APP_CONFIG } from '@app/config';
import { PlatformStateRepository } from '@app/instance-data';
import { MetricsRegistry } from '@app/metrics';
import { sizeInBytes } from '@app/tenancy';
import { LifecycleQueue } from '@app/queue';
import type { Config } from '../config/env';

/** BACKUP_DIR may not exist before the first backup: its filesystem is the nearest existing parent's. */
async function existingAncestor(path: string): Promise<string> {
  for (let current = path; ; current = dirname(current)) {
    try {
      await statfs(current);
      return current;
    } catch (error) {
      if (dirname(current) === current) throw error;
    }
  }
}

const QUEUE_STATES = ['waiting', 'active', 'delayed', 'prioritized', 'failed'] as const;

/**
 * What the alert rules watch on the worker, read at scrape time from the instance database, the queue and
 * the backup filesystem, so a restart of the worker loses nothing. A source that cannot be read leaves its
 * gauges out of that scrape (the dependency_up gauge says why).
 */
@Injectable()
export class PlatformStateMetrics {
  private readonly logger = new Logger(PlatformStateMetrics.name);

  constructor(
    metrics: MetricsRegistry,
    private readonly state: PlatformStateRepository,
    private readonly queue: LifecycleQueue,
    @Inject(APP_CONFIG) private readonly config: Config,
  ) {
    const registers = [metrics.registry];
    const gauge = <L extends string>(
      name: string,
      help: string,
      labelNames: L[],
      collect: (g: Gauge<L>) => Promise<void>,
    ): void => {
      // The newest instance reads: a registry outlives an app closed and made again in one process (tests).
      metrics.registry.removeSingleMetric(name);
      const logger = this.logger;
      new Gauge<L>({
        name,
        help,
        labelNames,
        registers,
        async collect() {
          this.reset();
          await collect(this).catch((error: unknown) => logger.warn(`${name}: ${String(error)}`));
        },
      });
    };

    gauge('instances', 'Instances by observed status (purged ones excluded)', ['status'], async (g) => {
      for (const row of await this.state.statusCounts()) g.set({ status: row.status }, row.count);
    });
    gauge(
      'instances_diverged',
      'Instances whose observed status is not their desired state (pending ones excepted)',
      [],
      async (g) => g.set((await this.state.divergence()).count),
    );
    gauge(
      'instance_divergence_oldest_seconds',
      'Seconds the longest-diverged instance has gone without a status change',
      [],
      async (g) => g.set((await this.state.divergence()).oldestSeconds),
    );
    gauge(
      'instance_last_backup_timestamp_seconds',
      'Unix time of the newest completed backup of each running instance (its start time while it has none)',
      ['instance_id'],
      async (g) => {
        for (const row of await this.state.backupStateOfRunning()) {
          g.set({ instance_id: row.instanceId }, row.lastBackupOrStart);
        }
      },
    );
    gauge(
      'instance_storage_limit_bytes',
      'storage_limit of each measured instance, in bytes (compare with instance_storage_bytes)',
      ['instance_id'],
      async (g) => {
        for (const row of await this.state.measuredStorageLimits()) {
          g.set({ instance_id: row.instanceId }, sizeInBytes(row.storageLimit));
        }
      },
    );
    gauge('backups_failed_last_24h', 'Backups that ended failed within the last 24 hours', [], async (g) =>
      g.set(await this.state.failedBackupsWithin(24)),
    );
    gauge(
      'backup_verifications_failed_last_24h',
      'Completed backups whose test restore (scratch database, sanity query) failed within the last 24 hours',
      [],
      async (g) => g.set(await this.state.failedVerificationsWithin(24)),
    );
    gauge(
      'backup_offsite_copy_oldest_pending_seconds',
      'Seconds the oldest backup still without its off-host copy (BACKUP_S3_*) has waited for it (0: none waits)',
      [],
      async (g) => g.set(await this.state.oldestPendingOffsiteCopySeconds()),
    );
    gauge('lifecycle_queue_jobs', 'Lifecycle queue jobs by state', ['state'], async (g) => {
      const counts = await this.queue.queue.getJobCounts(...QUEUE_STATES);
      for (const state of QUEUE_STATES) g.set({ state }, counts[state] ?? 0);
    });
    gauge(
      'filesystem_free_ratio',
      'Free share of the filesystem holding the backups (BACKUP_DIR)',
      ['path'],
      async (g) => {
        const fs = await statfs(await existingAncestor(this.config.BACKUP_DIR));
        g.set({ path: this.config.BACKUP_DIR }, fs.blocks > 0 ? fs.bavail / fs.blocks : 0);
      },
    );
  }
}
