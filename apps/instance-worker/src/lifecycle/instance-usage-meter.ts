import { Inject, Injectable, Logger } from '@nestjs/common';
import { APP_CONFIG } from '@app/config';
import { InstancesRepository, type InstanceEntity } from '@app/instance-data';
import { Mailer } from '@app/mail';
import { sizeInBytes } from '@app/tenancy';
import type { Config } from '../config/env';
import { PLACEMENT_BACKEND, type PlacementBackend } from '../placement/placement-backend';
import { LifecycleMetrics } from './lifecycle.metrics';
import { OdooDatabaseProvisioner } from './odoo-database.provisioner';

/** Share of the storage limit at which the customer is warned (once per crossing). */
export const STORAGE_WARNING_RATIO = 0.9;

function human(bytes: number): string {
  const mib = bytes / (1024 * 1024);
  return mib >= 1024 ? `${(mib / 1024).toFixed(1)} GiB` : `${mib.toFixed(0)} MiB`;
}

/**
 * Measures every live instance's storage periodically: its volume (`docker system df`, one engine call for
 * all) and its database (pg_database_size through the provisioner connection). Records it on the row (shown
 * as `usage` by the API, which refuses backups, restores and upgrades at 100 %), exports it as
 * instance_storage_bytes, and sends one warning mail when usage crosses 90 % of the limit (again only after
 * it fell back under).
 */
@Injectable()
export class InstanceUsageMeter {
  private readonly logger = new Logger(InstanceUsageMeter.name);
  private timer?: NodeJS.Timeout;
  private running = false;
  private measuring?: Promise<void>;

  constructor(
    private readonly instances: InstancesRepository,
    @Inject(PLACEMENT_BACKEND) private readonly placement: PlacementBackend,
    private readonly provisioner: OdooDatabaseProvisioner,
    private readonly mailer: Mailer,
    private readonly metrics: LifecycleMetrics,
    @Inject(APP_CONFIG) private readonly config: Config,
  ) {}

  start(): void {
    if (this.running) return;
    this.running = true;
    this.schedule(0);
  }

  async stop(): Promise<void> {
    this.running = false;
    clearTimeout(this.timer);
    await this.measuring?.catch(() => undefined);
  }

  /** One pass over every instance with data (provisioned and not terminated). */
  async measureAll(): Promise<void> {
    const rows = (await this.instances.listUnpurged()).filter(
      (row) => row.status !== 'terminated' && row.status !== 'pending' && row.volumeName !== null,
    );
    if (rows.length === 0) return;
    const volumes = await this.placement.storageSizes();
    for (const row of rows) {
      try {
        await this.measure(row, volumes);
      } catch (error) {
        this.logger.warn(`usage of ${row.id}: ${error instanceof Error ? error.message : String(error)}`);
      }
    }
  }

  private async measure(row: InstanceEntity, volumes: Map<string, number>): Promise<void> {
    const storageBytes = row.volumeName ? (volumes.get(row.volumeName) ?? null) : null;
    const databaseBytes = await this.provisioner.databaseSize(row.databaseName);
    this.metrics.storageBytes.set({ instance_id: row.id, kind: 'volume' }, storageBytes ?? 0);
    this.metrics.storageBytes.set({ instance_id: row.id, kind: 'database' }, databaseBytes ?? 0);
    const used = (storageBytes ?? 0) + (databaseBytes ?? 0);
    const limit = sizeInBytes(row.storageLimit);
    const over = used >= STORAGE_WARNING_RATIO * limit;
    let warned: Date | null | undefined;
    if (over && !row.storageWarnedAt) warned = await this.warn(row, used, limit);
    else if (!over && row.storageWarnedAt) warned = null;
    await this.instances.recordUsage(row.id, { storageBytes, databaseBytes, measuredAt: new Date(), warned });
  }

  /** The mail, then the mark (a failed send is tried again at the next measurement). */
  private async warn(row: InstanceEntity, used: number, limit: number): Promise<Date | undefined> {
    try {
      await this.mailer.send(row.adminEmail, 'storage_warning', {
        instance_name: row.name,
        used_percent: Math.floor((used / limit) * 100),
        used: human(used),
        limit: row.storageLimit,
      });
      return new Date();
    } catch (error) {
      this.logger.warn(
        `storage warning for ${row.id} not sent: ${error instanceof Error ? error.message : String(error)}`,
      );
      return undefined;
    }
  }

  private schedule(delayMs: number): void {
    if (!this.running) return;
    this.timer = setTimeout(() => {
      this.measuring = this.measureAll()
        .catch((error: unknown) => this.logger.warn(`usage: ${String(error)}`))
        .finally(() => this.schedule(this.config.USAGE_INTERVAL_MS));
    }, delayMs);
  }
}
