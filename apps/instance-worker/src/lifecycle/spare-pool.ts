import { Inject, Injectable, Logger } from '@nestjs/common';
import { randomBytes, randomUUID } from 'node:crypto';
import { DataSource } from 'typeorm';
import { APP_CONFIG } from '@app/config';
import { InstanceSecrets, type InstanceEntity } from '@app/instance-data';
import type { Config } from '../config/env';
import { InstanceLocks } from './instance-locks';
import { InstanceRuntime } from './instance-runtime';
import { resourceNames } from './instance-naming';
import { LifecycleMetrics } from './lifecycle.metrics';
import { OdooDatabaseProvisioner } from './odoo-database.provisioner';

/** A row of `odoo_spares`. */
export interface Spare {
  id: string;
  odooVersion: string;
  image: string;
  database: string;
  role: string;
  passwordEnc: string;
  /** The init run left an Odoo schema (false for an image that does not use its database). */
  odooSchema: boolean;
  state: 'creating' | 'ready' | 'claimed';
  instanceId: string | null;
}

interface SpareRecord {
  id: string;
  odoo_version: string;
  image: string;
  database_name: string;
  db_role: string;
  db_password_enc: string;
  odoo_schema: boolean;
  state: Spare['state'];
  instance_id: string | null;
}

const COLUMNS =
  'id, odoo_version, image, database_name, db_role, db_password_enc, odoo_schema, state, instance_id';

function toSpare(r: SpareRecord): Spare {
  return {
    id: r.id,
    odooVersion: r.odoo_version,
    image: r.image,
    database: r.database_name,
    role: r.db_role,
    passwordEnc: r.db_password_enc,
    odooSchema: r.odoo_schema,
    state: r.state,
    instanceId: r.instance_id,
  };
}

function message(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/**
 * Spare Odoo databases made ahead of demand (ODOO_SPARE_POOL): a role and a database initialised by
 * `odoo -i base` (the attachments that run wrote are moved into the database, so a spare needs no volume),
 * per configured Odoo version. A first provisioning without custom addons or demo data claims one and
 * renames it to the instance's names, so CREATE DATABASE and the init run are off its critical path.
 *
 * Nothing is ever left behind: the row is written before anything is created and removed after everything
 * was; one worker at a time tops the pool up (advisory lock), so a `creating` row it finds was abandoned by
 * a worker that died, and is undone. A claim sets the instance's database password in the same transaction,
 * so from then on the instance's own cleanup (failed provisioning, purge) covers the spare.
 */
@Injectable()
export class SparePool {
  private readonly logger = new Logger(SparePool.name);
  private timer?: NodeJS.Timeout;
  private cycle?: Promise<void>;
  private stopped = true;
  /** Provisioning jobs running in this worker; spares are made only when there are none (see busy()). */
  private provisioning = 0;
  /** … and no sooner than this (an interval after the last provisioning ended). */
  private quietFrom = 0;

  constructor(
    private readonly dataSource: DataSource,
    private readonly provisioner: OdooDatabaseProvisioner,
    private readonly runtime: InstanceRuntime,
    private readonly secrets: InstanceSecrets,
    private readonly locks: InstanceLocks,
    private readonly metrics: LifecycleMetrics,
    @Inject(APP_CONFIG) private readonly config: Config,
  ) {}

  /** Tops the pool up now, then every ODOO_SPARE_POOL_INTERVAL_MS (see busy(): only when quiet). */
  start(): void {
    this.stopped = false;
    this.runCycle();
  }

  /**
   * Waits for the cycle under way, at most SHUTDOWN_TIMEOUT_MS: a spare still being made then is left as
   * `creating`, and undone by the next top-up.
   */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    if (!this.cycle) return;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      this.cycle,
      new Promise((resolve) => {
        timer = setTimeout(resolve, this.config.SHUTDOWN_TIMEOUT_MS);
      }),
    ]);
    clearTimeout(timer);
  }

  private runCycle(): void {
    if (this.stopped) return;
    this.cycle = this.topUp()
      .catch((error: unknown) => this.logger.warn(`spare pool: ${message(error)}`))
      .finally(() => {
        this.cycle = undefined;
        if (this.stopped) return;
        this.timer = setTimeout(() => this.runCycle(), this.config.ODOO_SPARE_POOL_INTERVAL_MS);
        this.timer.unref();
      });
  }

  // ---- claiming (a provisioning job) ----------------------------------------------------------------------

  /**
   * The spare this instance adopts: the one it already claimed (a resumed job), else a ready one of its
   * image when the instance has nothing of its own yet and needs nothing a spare lacks. The instance row
   * gets the spare's password (re-encrypted for the instance) in the same transaction.
   */
  async claim(instance: InstanceEntity, image: string): Promise<Spare | null> {
    const mine = await this.claimedBy(instance.id);
    if (mine) return mine;
    if (
      instance.dbPasswordEnc !== null ||
      instance.demoData ||
      instance.customAddons.length > 0 ||
      !this.config.ODOO_SPARE_POOL.has(instance.odooVersion)
    ) {
      return null;
    }
    const claimed = await this.dataSource
      .transaction(async (manager) => {
        const rows = (await manager.query(
          // A materialised CTE: a plain subquery may be re-run (and, skipping locked rows, pick another).
          `WITH picked AS MATERIALIZED (
           SELECT id FROM odoo_spares WHERE state = 'ready' AND image = $1 AND odoo_version = $3
           ORDER BY ready_at, id LIMIT 1 FOR UPDATE SKIP LOCKED)
         UPDATE odoo_spares SET state = 'claimed', instance_id = $2, claimed_at = now()
         WHERE id = (SELECT id FROM picked)
         RETURNING ${COLUMNS}`,
          [image, instance.id, instance.odooVersion],
        )) as [SpareRecord[], number];
        const record = rows[0]?.[0];
        if (!record) return null;
        const spare = toSpare(record);
        const password = this.secrets.decrypt(spare.id, 'db_password', spare.passwordEnc);
        const names = resourceNames(instance);
        const patch = {
          dbPasswordEnc: this.secrets.encrypt(instance.id, 'db_password', password),
          dbRole: names.dbRole,
          volumeName: names.volume,
          containerName: names.container,
          networkName: names.network,
        };
        const updated = (await manager.query(
          `UPDATE instances SET db_password_enc = $2, db_role = $3, volume_name = $4, container_name = $5,
           network_name = $6, updated_at = now()
         WHERE id = $1 AND db_password_enc IS NULL`,
          [
            instance.id,
            patch.dbPasswordEnc,
            patch.dbRole,
            patch.volumeName,
            patch.containerName,
            patch.networkName,
          ],
        )) as [unknown[], number];
        // The instance got resources of its own meanwhile: give the spare back (the transaction rolls back).
        if (updated[1] !== 1) throw new ClaimWithdrawn();
        return { spare, patch };
      })
      .catch((error: unknown) => {
        if (error instanceof ClaimWithdrawn) return null;
        throw error;
      });
    if (!claimed) return null;
    this.metrics.sparesReady.dec({ odoo_version: claimed.spare.odooVersion });
    Object.assign(instance, claimed.patch);
    this.logger.log(
      `instance ${instance.id} adopts spare ${claimed.spare.id} (${claimed.spare.odooVersion})`,
    );
    return claimed.spare;
  }

  async claimedBy(instanceId: string): Promise<Spare | null> {
    const rows = (await this.dataSource.query(`SELECT ${COLUMNS} FROM odoo_spares WHERE instance_id = $1`, [
      instanceId,
    ])) as SpareRecord[];
    return rows[0] ? toSpare(rows[0]) : null;
  }

  /** The claimed spare's role and database take the instance's names (idempotent). */
  async rename(instance: InstanceEntity, spare: Spare): Promise<void> {
    const names = resourceNames(instance);
    await this.provisioner.adoptSpare(
      { role: spare.role, database: spare.database },
      { role: names.dbRole, database: names.database },
    );
  }

  /** Adoption complete: the spare is the instance's now. */
  async release(spare: Spare): Promise<void> {
    await this.dataSource.query(`DELETE FROM odoo_spares WHERE id = $1 AND state = 'claimed'`, [spare.id]);
  }

  /**
   * Before an instance that claimed a spare is removed (failed first provisioning, purge): whatever still
   * carries the spare's names goes too, and the claim row. The rest carries the instance's names.
   */
  async removeClaimed(instance: InstanceEntity): Promise<void> {
    const spare = await this.claimedBy(instance.id);
    if (!spare) return;
    await this.provisioner.dropSpareLeftovers(
      { role: spare.role, database: spare.database },
      resourceNames(instance).dbRole,
    );
    await this.release(spare);
  }

  // ---- topping up -----------------------------------------------------------------------------------------

  private async topUp(): Promise<void> {
    const lock = await this.locks.tryLock('saasodoo.spares', 'top-up');
    if (!lock) return;
    try {
      const spares = await this.list();
      // Holding the lock, nobody else is making spares: a `creating` one was abandoned by a dead worker.
      for (const spare of spares.filter((s) => s.state === 'creating'))
        await this.discard(spare, 'abandoned');
      const kept = new Map<string, number>();
      for (const spare of spares.filter((s) => s.state === 'ready')) {
        const count = kept.get(spare.odooVersion) ?? 0;
        const wanted = this.config.ODOO_SPARE_POOL.get(spare.odooVersion) ?? 0;
        if (count >= wanted || spare.image !== this.runtime.imageFor(spare.odooVersion)) {
          await this.discard(spare, 'no longer wanted (pool size or image changed)');
        } else {
          kept.set(spare.odooVersion, count + 1);
        }
      }
      for (const [version, count] of this.config.ODOO_SPARE_POOL) {
        for (let have = kept.get(version) ?? 0; have < count && !this.stopped && !this.busy(); have++) {
          await this.make(version, this.runtime.imageFor(version));
        }
      }
      await this.updateGauge();
    } finally {
      await lock.release();
    }
  }

  /**
   * Making a spare (CREATE DATABASE, an init container) competes with provisioning for the machine, so the
   * pool is refilled when provisioning is quiet: none running, none for an interval.
   */
  private busy(): boolean {
    return this.provisioning > 0 || Date.now() < this.quietFrom;
  }

  /** Runs a provisioning job; the pool is not refilled meanwhile (nor for an interval after). */
  async whileProvisioning<T>(fn: () => Promise<T>): Promise<T> {
    this.provisioning += 1;
    try {
      return await fn();
    } finally {
      this.provisioning -= 1;
      this.quietFrom = Date.now() + this.config.ODOO_SPARE_POOL_INTERVAL_MS;
    }
  }

  private async make(version: string, image: string): Promise<void> {
    const id = randomUUID();
    const hex = id.replace(/-/g, '');
    const password = randomBytes(32).toString('base64url');
    const spare: Spare = {
      id,
      odooVersion: version,
      image,
      database: `odoo_spare_${hex}`,
      role: `odoo_spare_${hex}`,
      passwordEnc: this.secrets.encrypt(id, 'db_password', password),
      odooSchema: false,
      state: 'creating',
      instanceId: null,
    };
    await this.dataSource.query(
      `INSERT INTO odoo_spares (id, odoo_version, image, database_name, db_role, db_password_enc, state)
       VALUES ($1, $2, $3, $4, $5, $6, 'creating')`,
      [spare.id, version, image, spare.database, spare.role, spare.passwordEnc],
    );
    try {
      const odooSchema = await this.metrics.step('spare_make', async () => {
        await this.provisioner.ensure(spare.database, spare.role, password);
        return this.runtime.initialiseSpare(spare, password);
      });
      await this.dataSource.query(
        `UPDATE odoo_spares SET state = 'ready', ready_at = now(), odoo_schema = $2
         WHERE id = $1 AND state = 'creating'`,
        [spare.id, odooSchema],
      );
    } catch (error) {
      await this.discard(spare, `could not be made: ${message(error)}`).catch((e: unknown) =>
        this.logger.warn(`spare ${spare.id}: cleanup failed, retried next cycle: ${message(e)}`),
      );
      throw error;
    }
  }

  /**
   * Removes a spare no instance claimed: init one-shot, database, role, then its row. A ready one is
   * first taken back to `creating` (so no claim can pick it any more, and a crash now leaves it to the next
   * top-up); if it was claimed meanwhile it is the instance's and left alone.
   */
  private async discard(spare: Spare, why: string): Promise<void> {
    if (spare.state === 'ready') {
      const [, taken] = (await this.dataSource.query(
        `UPDATE odoo_spares SET state = 'creating' WHERE id = $1 AND state = 'ready'`,
        [spare.id],
      )) as [unknown[], number];
      if (taken !== 1) return;
    }
    this.logger.log(`spare ${spare.id}: removing (${why})`);
    await this.runtime.removeSpareInit(spare.id);
    await this.provisioner.drop(spare.database, spare.role);
    await this.dataSource.query(`DELETE FROM odoo_spares WHERE id = $1 AND state = 'creating'`, [spare.id]);
  }

  private async list(): Promise<Spare[]> {
    const rows = (await this.dataSource.query(
      `SELECT ${COLUMNS} FROM odoo_spares WHERE state <> 'claimed' ORDER BY created_at, id`,
    )) as SpareRecord[];
    return rows.map(toSpare);
  }

  private async updateGauge(): Promise<void> {
    const rows = (await this.dataSource.query(
      `SELECT odoo_version, count(*)::int AS n FROM odoo_spares WHERE state = 'ready' GROUP BY odoo_version`,
    )) as { odoo_version: string; n: number }[];
    this.metrics.sparesReady.reset();
    for (const version of this.config.ODOO_SPARE_POOL.keys())
      this.metrics.sparesReady.set({ odoo_version: version }, 0);
    for (const row of rows) this.metrics.sparesReady.set({ odoo_version: row.odoo_version }, row.n);
  }
}

class ClaimWithdrawn extends Error {}
