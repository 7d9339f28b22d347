import { Inject, Injectable, Logger } from '@nestjs/common';
import { APP_CONFIG } from '@app/config';
import {
  InstancesRepository,
  type InstanceBackupEntity,
  type InstanceEntity,
  type InstancePatch,
} from '@app/instance-data';
import { PermanentJobError, type LifecycleJobContext } from '@app/queue';
import type { Config } from '../config/env';
import { InstanceBackupsService } from '../lifecycle/instance-backups.service';
import { InstanceRuntime } from '../lifecycle/instance-runtime';
import { OdooDatabaseProvisioner } from '../lifecycle/odoo-database.provisioner';
import { pgRestoreInto } from './pg-restore';

/** A restore failed and everything it had made was undone: the instance has its data as before. */
export class RestoreRolledBackError extends PermanentJobError {}

function message(error: unknown): string {
  return (error instanceof Error ? error.message : String(error)).slice(0, 1000);
}

/** The names one restore (one operation generation) works with. */
export interface RestorePlan {
  /** The new database while it is filled, and the old one's name once replaced. */
  incomingDatabase: string;
  replacedDatabase: string;
  /** The new data volume, and the one it replaces. */
  newVolume: string;
  oldVolume: string;
}

export function restorePlan(row: InstanceEntity, oldVolume: string, generation: number): RestorePlan {
  const short = row.id.replace(/-/g, '').slice(0, 16);
  return {
    incomingDatabase: `rst_${short}_${generation}`,
    replacedDatabase: `old_${short}_${generation}`,
    newVolume: `odoo_data_${row.id}_r${generation}`,
    oldVolume,
  };
}

/**
 * Restore without a moment where the instance's data is gone (issue #15): a `pre_restore` backup first; the
 * backup goes into a NEW database and a NEW volume while the old ones stay untouched; then the switch (the
 * databases swap names in one transaction, the row's `volume_name` changes). The replaced database and volume
 * are dropped only once the instance runs on the new ones (`dropReplaced`); until then `revert` puts the old
 * ones back. Any failure before the switch removes what was made and recreates the old container.
 */
@Injectable()
export class SafeRestore {
  private readonly logger = new Logger(SafeRestore.name);

  constructor(
    private readonly instances: InstancesRepository,
    private readonly runtime: InstanceRuntime,
    private readonly provisioner: OdooDatabaseProvisioner,
    private readonly backups: InstanceBackupsService,
    @Inject(APP_CONFIG) private readonly config: Config,
  ) {}

  /** The `pre_restore` backup of this restore job (resumed by a retry); null when there is no container. */
  async safetyCopy(row: InstanceEntity, ctx: LifecycleJobContext): Promise<InstanceBackupEntity | null> {
    const observed = await this.runtime.observe(row);
    const names = this.runtime.names(row);
    const db = await this.provisioner.state(names.database, names.dbRole);
    if (observed.state === 'missing' || !db.databaseExists) return null;
    return this.backups.create(row, observed.handle, {
      kind: 'pre_restore',
      jobId: ctx.id,
      requestedBy: ctx.data.requested_by,
    });
  }

  /**
   * Restores `backup` into a new database and volume and switches the instance to them; the container is
   * recreated on them (not started). Returns the plan for `dropReplaced` / `revert`. On failure before the
   * switch everything made is removed, the old container recreated, and RestoreRolledBackError thrown.
   */
  async restoreAndSwitch(
    row: InstanceEntity,
    backup: InstanceBackupEntity,
    generation: number,
    image: string,
  ): Promise<RestorePlan> {
    if (!backup.dbDumpPath) throw new PermanentJobError(`backup ${backup.id} has no database dump`);
    const names = this.runtime.names(row);
    const plan = restorePlan(row, names.volume, generation);
    // Resumed after the switch was recorded: nothing more to restore.
    if (row.volumeName === plan.newVolume) return { ...plan, oldVolume: `odoo_data_${row.id}` };
    const password = await this.runtime.dbPassword(row);
    const oldImage = this.runtime.currentImage(row);
    const incoming = { ...row, volumeName: plan.newVolume, image } as InstanceEntity;
    let swapped = false;
    try {
      await this.provisioner.dropDatabase(plan.incomingDatabase, names.dbRole);
      await this.provisioner.ensure(plan.incomingDatabase, names.dbRole, password);
      await pgRestoreInto(
        {
          bin: this.config.PG_RESTORE_BIN,
          host: this.config.ODOO_DB_HOST,
          port: this.config.ODOO_DB_PORT,
          role: names.dbRole,
          password,
          database: plan.incomingDatabase,
        },
        backup.dbDumpPath,
      );
      // The old container goes (it cannot run during the switch anyway); the new one mounts the new volume.
      await this.runtime.removeContainer(row);
      await this.runtime.removeVolume(incoming);
      await this.runtime.ensureVolume(incoming);
      const containerId = await this.runtime.ensureContainer(incoming, password, image);
      await this.runtime.copyDataIn(incoming, containerId, this.backups.filestoreTar(backup));
      await this.provisioner.swapIn(
        names.database,
        plan.incomingDatabase,
        plan.replacedDatabase,
        names.dbRole,
      );
      swapped = true;
      const patch: InstancePatch = {
        volumeName: plan.newVolume,
        odooVersion: backup.odooVersion as InstanceEntity['odooVersion'],
        image,
        containerId,
      };
      await this.instances.patch(row.id, patch);
      Object.assign(row, patch);
      return plan;
    } catch (error) {
      const failure = message(error);
      this.logger.warn(
        `instance ${row.id}: restore of backup ${backup.id} failed (${failure}); rolling back`,
      );
      const undo = await this.undo(row, plan, password, oldImage, swapped).then(
        () => 'rolled back: the instance has its data as before',
        (e: unknown) => `rollback failed: ${message(e)}`,
      );
      throw new RestoreRolledBackError(`restore of backup ${backup.id} failed: ${failure}; ${undo}`);
    }
  }

  /** After the instance runs on the new database and volume: the replaced ones go. */
  async dropReplaced(row: InstanceEntity, plan: RestorePlan): Promise<void> {
    const names = this.runtime.names(row);
    await this.provisioner.dropDatabase(plan.replacedDatabase, names.dbRole);
    if (plan.oldVolume !== names.volume) {
      await this.runtime.removeVolume({ ...row, volumeName: plan.oldVolume } as InstanceEntity);
    }
  }

  /** The switch was made but the instance would not start on it: the old database and volume come back. */
  async revert(row: InstanceEntity, plan: RestorePlan, oldImage: string, oldVersion: string): Promise<void> {
    const password = await this.runtime.dbPassword(row);
    const names = this.runtime.names(row);
    await this.runtime.removeContainer(row);
    // The restored database takes the incoming name again, the old one its own name back.
    await this.provisioner.swapIn(names.database, plan.replacedDatabase, plan.incomingDatabase, names.dbRole);
    const patch: InstancePatch = {
      volumeName: plan.oldVolume,
      image: oldImage,
      odooVersion: oldVersion as InstanceEntity['odooVersion'],
    };
    await this.instances.patch(row.id, patch);
    Object.assign(row, patch);
    await this.runtime.ensureContainer(row, password, oldImage);
    await this.provisioner.dropDatabase(plan.incomingDatabase, names.dbRole);
    await this.runtime.removeVolume({ ...row, volumeName: plan.newVolume } as InstanceEntity);
  }

  private async undo(
    row: InstanceEntity,
    plan: RestorePlan,
    password: string,
    oldImage: string,
    swapped: boolean,
  ): Promise<void> {
    const names = this.runtime.names(row);
    await this.runtime.removeContainer(row);
    if (swapped) {
      await this.provisioner.swapIn(
        names.database,
        plan.replacedDatabase,
        plan.incomingDatabase,
        names.dbRole,
      );
    }
    await this.provisioner.dropDatabase(plan.incomingDatabase, names.dbRole);
    await this.runtime.removeVolume({ ...row, volumeName: plan.newVolume } as InstanceEntity);
    await this.runtime.ensureContainer(row, password, oldImage);
  }
}
