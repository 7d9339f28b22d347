import { Inject, Injectable, Optional } from '@nestjs/common';
import { DataSource, EntityManager, QueryFailedError } from 'typeorm';
import {
  MIGRATABLE_STATUSES,
  type DesiredState,
  type InstanceAction,
  type InstanceStatus,
  type ProvisionSource,
  type SuspensionSource,
} from '@app/contracts';
import { lifecycleJobId, type LifecycleJobParams, type LifecycleJobRequest } from '@app/queue';
import { InstanceBackupEntity } from './instance-backup.entity';
import {
  BackupNotFoundError,
  InstanceNameTakenError,
  InstanceNotFoundError,
  InstanceTerminatedError,
  InvalidActionParametersError,
  MigrationRefusedError,
  OperationPendingError,
  SuspendedByOtherError,
} from './instance-data.errors';
import { InstanceEventEntity } from './instance-event.entity';
import { InstanceEntity } from './instance.entity';
import type { InstanceType, JsonValue, OdooVersion, PendingOperation } from './instance.types';
import { planAction, planDesiredState, type PlannedIntent } from './lifecycle-intent';

/** Everything the API decides when creating an instance (it generates the id, hashes and encrypts). */
export interface NewInstance {
  id: string;
  tenantId: string;
  customerId: string;
  name: string;
  description: string | null;
  odooVersion: OdooVersion;
  instanceType: InstanceType;
  cpuLimit: number;
  memoryLimit: string;
  storageLimit: string;
  adminEmail: string;
  adminPasswordHash: string;
  adminPasswordEnc: string;
  demoData: boolean;
  databaseName: string;
  subdomain: string | null;
  customAddons: string[];
  disabledModules: string[];
  environmentVars: Record<string, string>;
  metadata: Record<string, JsonValue>;
  planName: string | null;
  /** Set for an import or a staging copy; absent for a fresh database. */
  provisionSource?: ProvisionSource | null;
}

export interface IntentContext {
  /** User id, or 'billing', 'reconciler', 'system', … */
  actor: string;
  reason?: string | null;
}

/**
 * Who acts through the public API: a `suspend` records `suspensionSource` (default `customer`); `unsuspend`
 * lifts only the sources in `mayLift` (default: `customer` alone).
 */
export interface ActionContext extends IntentContext {
  suspensionSource?: Extract<SuspensionSource, 'customer' | 'admin'>;
  mayLift?: readonly SuspensionSource[];
}

/** Another service changing the desired state: it suspends as, and lifts only, `source` (default billing). */
export interface DesiredStateContext extends IntentContext {
  source?: Extract<SuspensionSource, 'billing' | 'admin'>;
}

/** Suspensions the reconciler re-applies when the desired state no longer says suspended. */
const ENFORCED_SUSPENSION_SOURCES: readonly SuspensionSource[] = ['billing', 'admin'];

/** A recorded intent: the updated row and the job to enqueue (null when nothing is to be done). */
export interface RecordedIntent {
  instance: InstanceEntity;
  job: LifecycleJobRequest | null;
}

export interface InstanceListFilter {
  /** Instances of these tenants (the caller's memberships). Empty array = nothing. */
  tenantIds?: readonly string[];
  tenantId?: string;
  customerId?: string;
  status?: InstanceStatus;
  /** Default true: terminated instances are listed too. */
  includeTerminated?: boolean;
  page: number;
  pageSize: number;
}

export interface InstanceLimitsChange {
  cpuLimit?: number;
  memoryLimit?: string;
  storageLimit?: string;
}

/** Columns the worker writes besides the status. */
export type InstancePatch = Partial<
  Pick<
    InstanceEntity,
    | 'statusReason'
    | 'lastError'
    | 'previousStatus'
    | 'odooVersion'
    | 'image'
    | 'containerId'
    | 'containerName'
    | 'volumeName'
    | 'networkName'
    | 'placementNode'
    | 'hostPort'
    | 'internalUrl'
    | 'externalUrl'
    | 'dbRole'
    | 'dbPasswordEnc'
    | 'adminPasswordEnc'
    | 'startedAt'
    | 'stoppedAt'
    | 'terminatedAt'
    | 'purgeAfter'
    | 'purgedAt'
  >
>;

export interface StatusTransition {
  to: InstanceStatus;
  /** The statuses the row must be in for the change to apply (optimistic check); default: any. */
  from?: readonly InstanceStatus[];
  /** The row's generation must still be this (optional optimistic check on the intent). */
  expectedGeneration?: number;
  actor: string;
  reason?: string | null;
  jobId?: string | null;
  /** Recorded on the event; an event is written for every status change, and also when this is set. */
  action?: string | null;
  patch?: InstancePatch;
  /** Raises applied_generation to at least this (a desired-state job converged up to that intent). */
  appliedGeneration?: number;
  /** Clears pending_operation if it is the operation of this job. */
  completesOperationJobId?: string;
  /** Leaves `terminated` (reactivate): only while the desired state is no longer terminated and not purged. */
  reopensTerminated?: boolean;
}

/** Updatable columns (the customer's JSON fields are written only at creation). */
type InstanceColumnUpdate = Partial<
  Omit<InstanceEntity, 'metadata' | 'customAddons' | 'disabledModules' | 'environmentVars'>
>;

const UNIQUE_VIOLATION = '23505';

function withSource(sources: readonly SuspensionSource[], source: SuspensionSource): SuspensionSource[] {
  return sources.includes(source) ? [...sources] : [...sources, source];
}

function sameSources(a: readonly SuspensionSource[], b: readonly SuspensionSource[]): boolean {
  return a.length === b.length && a.every((source) => b.includes(source));
}

function uniqueConstraint(error: unknown): string | null {
  if (!(error instanceof QueryFailedError)) return null;
  const driverError: unknown = error.driverError;
  if (typeof driverError !== 'object' || driverError === null) return null;
  const code = 'code' in driverError ? driverError.code : undefined;
  const constraint = 'constraint' in driverError ? driverError.constraint : undefined;
  return code === UNIQUE_VIOLATION && typeof constraint === 'string' ? constraint : null;
}

/**
 * The instance table, its status history and the intent bookkeeping. Every status change goes through
 * `transition` (row lock, optimistic check, event in the same transaction); `terminated` is left only by a
 * reactivation before the purge.
 */
/**
 * Told of every status the worker records (after the commit), e.g. to publish `instance.status_changed`. It
 * must not throw; an app without one provided (instance-service) records as before.
 */
export interface InstanceStatusListener {
  statusRecorded(instance: InstanceEntity): void;
}
export const INSTANCE_STATUS_LISTENER = Symbol('INSTANCE_STATUS_LISTENER');

@Injectable()
export class InstancesRepository {
  constructor(
    private readonly dataSource: DataSource,
    @Optional()
    @Inject(INSTANCE_STATUS_LISTENER)
    private readonly statusListener: InstanceStatusListener | null = null,
  ) {}

  // ---- API: create, read, update -------------------------------------------------------------------------

  /**
   * Inserts the instance as `pending`. Entitled (BILLING_PROVIDER=none, or billing already said so): desired
   * state `running` and a `provision` job to enqueue; otherwise desired `stopped` and no job until
   * `requestDesiredState(id, 'running')`. Throws InstanceNameTakenError on a subdomain/database name clash.
   */
  async create(input: NewInstance, options: IntentContext & { entitled: boolean }): Promise<RecordedIntent> {
    const now = new Date();
    const generation = options.entitled ? 1 : 0;
    const jobId = options.entitled ? lifecycleJobId(input.id, 'provision', generation) : null;
    const entity: InstanceEntity = Object.assign(new InstanceEntity(), {
      ...input,
      status: 'pending',
      desiredState: options.entitled ? 'running' : 'stopped',
      previousStatus: null,
      generation,
      appliedGeneration: 0,
      desiredJobId: jobId,
      pendingOperation: null,
      suspensionSources: [],
      statusReason: options.entitled ? 'entitled: provisioning queued' : 'waiting for entitlement',
      lastError: null,
      image: null,
      containerId: null,
      containerName: null,
      volumeName: null,
      networkName: null,
      placementNode: null,
      hostPort: null,
      internalUrl: null,
      externalUrl: null,
      dbRole: null,
      dbPasswordEnc: null,
      createdAt: now,
      updatedAt: now,
      startedAt: null,
      stoppedAt: null,
      terminatedAt: null,
      purgeAfter: null,
      purgedAt: null,
      storageBytes: null,
      databaseBytes: null,
      usageMeasuredAt: null,
      storageWarnedAt: null,
    } satisfies Omit<InstanceEntity, keyof NewInstance>);
    try {
      await this.dataSource.transaction(async (manager) => {
        await manager.save(InstanceEntity, entity);
        await this.insertEvent(manager, {
          instance: entity,
          fromStatus: null,
          toStatus: 'pending',
          action: 'create',
          actor: options.actor,
          reason: options.reason ?? entity.statusReason,
          jobId,
        });
      });
    } catch (error) {
      const constraint = uniqueConstraint(error);
      if (constraint === 'instances_subdomain_live_key') throw new InstanceNameTakenError('subdomain');
      if (constraint === 'instances_database_name_held_key')
        throw new InstanceNameTakenError('database_name');
      throw error;
    }
    return {
      instance: entity,
      job: jobId
        ? {
            name: 'provision',
            instanceId: entity.id,
            generation,
            requestedBy: options.actor,
            reason: options.reason ?? null,
          }
        : null,
    };
  }

  async findById(id: string): Promise<InstanceEntity | null> {
    return this.dataSource.getRepository(InstanceEntity).findOne({ where: { id } });
  }

  async getById(id: string): Promise<InstanceEntity> {
    const instance = await this.findById(id);
    if (!instance) throw new InstanceNotFoundError();
    return instance;
  }

  /** Filters and paging in SQL; newest first. */
  async list(filter: InstanceListFilter): Promise<{ items: InstanceEntity[]; total: number }> {
    const query = this.dataSource.getRepository(InstanceEntity).createQueryBuilder('i');
    if (filter.tenantIds !== undefined) {
      if (filter.tenantIds.length === 0) return { items: [], total: 0 };
      query.andWhere('i.tenant_id IN (:...tenantIds)', { tenantIds: [...filter.tenantIds] });
    }
    if (filter.tenantId !== undefined)
      query.andWhere('i.tenant_id = :tenantId', { tenantId: filter.tenantId });
    if (filter.customerId !== undefined) {
      query.andWhere('i.customer_id = :customerId', { customerId: filter.customerId });
    }
    if (filter.status !== undefined) query.andWhere('i.status = :status', { status: filter.status });
    if (filter.includeTerminated === false) query.andWhere(`i.status <> 'terminated'`);
    const [items, total] = await query
      .orderBy('i.created_at', 'DESC')
      .addOrderBy('i.id', 'DESC')
      .skip((filter.page - 1) * filter.pageSize)
      .take(filter.pageSize)
      .getManyAndCount();
    return { items, total };
  }

  /** Counts per status (for `/internal/.../instances/count`), terminated excluded from `total`. */
  async countByStatus(filter: {
    tenantId?: string;
    customerId?: string;
  }): Promise<{ total: number; byStatus: Partial<Record<InstanceStatus, number>> }> {
    const query = this.dataSource
      .getRepository(InstanceEntity)
      .createQueryBuilder('i')
      .select('i.status', 'status')
      .addSelect('COUNT(*)::int', 'count')
      .groupBy('i.status');
    if (filter.tenantId !== undefined)
      query.andWhere('i.tenant_id = :tenantId', { tenantId: filter.tenantId });
    if (filter.customerId !== undefined) {
      query.andWhere('i.customer_id = :customerId', { customerId: filter.customerId });
    }
    const rows = await query.getRawMany<{ status: InstanceStatus; count: number }>();
    const byStatus: Partial<Record<InstanceStatus, number>> = {};
    let total = 0;
    for (const row of rows) {
      byStatus[row.status] = row.count;
      if (row.status !== 'terminated') total += row.count;
    }
    return { total, byStatus };
  }

  async isSubdomainAvailable(subdomain: string): Promise<boolean> {
    const rows = (await this.dataSource.query(
      `SELECT 1 FROM instances WHERE subdomain = $1 AND status <> 'terminated' LIMIT 1`,
      [subdomain],
    )) as unknown[];
    return rows.length === 0;
  }

  /** A database name stays taken until the instance holding it was purged (Postgres names are cluster-wide). */
  async isDatabaseNameAvailable(databaseName: string): Promise<boolean> {
    const rows = (await this.dataSource.query(
      `SELECT 1 FROM instances WHERE database_name = $1 AND purged_at IS NULL LIMIT 1`,
      [databaseName],
    )) as unknown[];
    return rows.length === 0;
  }

  async updateDetails(
    id: string,
    changes: { name?: string; description?: string | null },
  ): Promise<InstanceEntity> {
    const update: InstanceColumnUpdate = { updatedAt: new Date() };
    if (changes.name !== undefined) update.name = changes.name;
    if (changes.description !== undefined) update.description = changes.description;
    const result = await this.dataSource.getRepository(InstanceEntity).update({ id }, update);
    if (!result.affected) throw new InstanceNotFoundError();
    return this.getById(id);
  }

  // ---- API: intents ----------------------------------------------------------------------------------------

  /**
   * Records a user action in one transaction: checks ALLOWED_ACTIONS (409 ActionNotAllowedError), refuses a
   * second operation while one is pending (409 OperationPendingError), validates the parameters (restore:
   * a completed backup of this instance; upgrade: a newer version), bumps the generation, sets the desired
   * state / pending operation and writes an event. The caller then enqueues `job` with LifecycleQueue.
   */
  async requestAction(
    id: string,
    action: InstanceAction,
    params: LifecycleJobParams,
    context: ActionContext,
  ): Promise<RecordedIntent & { job: LifecycleJobRequest }> {
    return this.dataSource.transaction(async (manager) => {
      const instance = await this.lockRow(manager, id);
      const plan = planAction(instance, action, params);
      if (action === 'restore' && plan.params.backup_id) {
        await this.assertRestorableBackup(manager, id, plan.params.backup_id);
      }
      let sources: SuspensionSource[] | undefined;
      if (action === 'suspend') {
        sources = withSource(instance.suspensionSources, context.suspensionSource ?? 'customer');
      }
      if (action === 'unsuspend') {
        const mayLift = context.mayLift ?? ['customer'];
        const holding = instance.suspensionSources.filter((source) => !mayLift.includes(source));
        if (holding.length > 0) throw new SuspendedByOtherError(holding);
        sources = [];
      }
      if (action === 'terminate') sources = [];
      const recorded = await this.applyIntent(manager, instance, plan, action, context, sources);
      if (!recorded.job) throw new Error('an action always produces a job');
      return { instance: recorded.instance, job: recorded.job };
    });
  }

  /**
   * An admin's move of the instance to `node` (another swarm node), checked with the row locked: a
   * migratable status (MIGRATABLE_STATUSES), no other operation pending, not already on `node`. Records
   * the `migrate` operation like any other; the caller enqueues `job`.
   */
  async requestMigration(
    id: string,
    node: string,
    context: IntentContext,
  ): Promise<RecordedIntent & { job: LifecycleJobRequest }> {
    return this.dataSource.transaction(async (manager) => {
      const instance = await this.lockRow(manager, id);
      if (instance.desiredState === 'terminated' || !MIGRATABLE_STATUSES.includes(instance.status)) {
        throw new MigrationRefusedError(
          'MIGRATION_NOT_ALLOWED',
          `The instance cannot move while it is ${instance.status}${instance.desiredState === 'terminated' ? ' (being terminated)' : ''}`,
          [{ status: instance.status, migratable_statuses: [...MIGRATABLE_STATUSES] }],
        );
      }
      if (instance.pendingOperation) throw new OperationPendingError(instance.pendingOperation);
      if (instance.placementNode === node) {
        throw new MigrationRefusedError('SAME_NODE', `The instance is already on node ${node}`);
      }
      const params = instance.placementNode ? { node, from: instance.placementNode } : { node };
      const recorded = await this.applyIntent(
        manager,
        instance,
        {
          desiredState: instance.desiredState,
          previousStatus: instance.previousStatus,
          operation: { action: 'migrate', params },
          jobName: 'migrate',
          params,
        },
        'migrate',
        context,
      );
      if (!recorded.job) throw new Error('a migration always produces a job');
      return { instance: recorded.instance, job: recorded.job };
    });
  }

  /**
   * Sets the desired state on behalf of another service (billing) through the internal API; idempotent
   * (job null when it already was the desired state). `running` on a `pending` instance entitles it.
   */
  async requestDesiredState(
    id: string,
    desired: DesiredState,
    context: DesiredStateContext,
  ): Promise<RecordedIntent> {
    return this.dataSource.transaction(async (manager) => {
      const instance = await this.lockRow(manager, id);
      if (instance.desiredState === 'terminated' || instance.status === 'terminated') {
        if (desired === 'terminated') return { instance, job: null };
        throw new InstanceTerminatedError();
      }
      const source = context.source ?? 'billing';
      let sources: SuspensionSource[];
      if (desired === 'terminated') sources = [];
      else if (desired === 'suspended') sources = withSource(instance.suspensionSources, source);
      else sources = instance.suspensionSources.filter((held) => held !== source);
      // Lifting one suspension while another source still holds the instance: only the record changes.
      const stillHeld = desired !== 'terminated' && desired !== 'suspended' && sources.length > 0;
      const plan = stillHeld ? null : planDesiredState(instance, desired);
      if (!plan) {
        if (!sameSources(sources, instance.suspensionSources)) {
          await manager.update(InstanceEntity, { id }, { suspensionSources: sources, updatedAt: new Date() });
          instance.suspensionSources = sources;
        }
        return { instance, job: null };
      }
      return this.applyIntent(manager, instance, plan, `desired:${desired}`, context, sources);
    });
  }

  /**
   * Level-triggered suspension: when `billing` or `admin` holds the instance but its desired state says
   * otherwise (a lost or overridden write), the desired state goes back to `suspended` with a job. Null
   * job when nothing was to be done.
   */
  async reassertSuspension(id: string, context: IntentContext): Promise<RecordedIntent> {
    return this.dataSource.transaction(async (manager) => {
      const instance = await this.lockRow(manager, id);
      const enforced = instance.suspensionSources.filter((s) => ENFORCED_SUSPENSION_SOURCES.includes(s));
      if (
        enforced.length === 0 ||
        instance.desiredState === 'suspended' ||
        instance.desiredState === 'terminated' ||
        instance.status === 'terminated' ||
        instance.status === 'pending'
      ) {
        return { instance, job: null };
      }
      const plan = planDesiredState(instance, 'suspended');
      if (!plan) return { instance, job: null };
      return this.applyIntent(manager, instance, plan, 'desired:suspended', {
        ...context,
        reason: context.reason ?? `suspension by ${enforced.join(', ')} re-applied`,
      });
    });
  }

  /**
   * Stores new limits and, when a container may exist, returns an `apply_limits` job that pushes them to it.
   * New containers always get the row's limits, so a pending instance needs no job.
   */
  async requestLimitsChange(
    id: string,
    limits: InstanceLimitsChange,
    context: IntentContext,
  ): Promise<RecordedIntent> {
    return this.dataSource.transaction(async (manager) => {
      const instance = await this.lockRow(manager, id);
      if (instance.status === 'terminated' || instance.desiredState === 'terminated') {
        throw new InstanceTerminatedError();
      }
      const generation = instance.generation + 1;
      const needsJob = instance.status !== 'pending';
      const jobId = lifecycleJobId(id, 'apply_limits', generation);
      const update: InstanceColumnUpdate = { generation, updatedAt: new Date() };
      if (limits.cpuLimit !== undefined) update.cpuLimit = limits.cpuLimit;
      if (limits.memoryLimit !== undefined) update.memoryLimit = limits.memoryLimit;
      if (limits.storageLimit !== undefined) update.storageLimit = limits.storageLimit;
      await manager.update(InstanceEntity, { id }, update);
      const updated = Object.assign(instance, update);
      await this.insertEvent(manager, {
        instance: updated,
        fromStatus: instance.status,
        toStatus: instance.status,
        action: 'limits',
        actor: context.actor,
        reason:
          context.reason ??
          `limits: cpu ${updated.cpuLimit}, memory ${updated.memoryLimit}, storage ${updated.storageLimit}`,
        jobId: needsJob ? jobId : null,
      });
      return {
        instance: updated,
        job: needsJob
          ? {
              name: 'apply_limits',
              instanceId: id,
              generation,
              requestedBy: context.actor,
              reason: context.reason ?? null,
            }
          : null,
      };
    });
  }

  /** Status history, oldest first by default. */
  async listEvents(
    id: string,
    options: { limit?: number; order?: 'asc' | 'desc' } = {},
  ): Promise<InstanceEventEntity[]> {
    return this.dataSource.getRepository(InstanceEventEntity).find({
      where: { instanceId: id },
      order: { id: options.order === 'desc' ? 'DESC' : 'ASC' },
      take: options.limit ?? 100,
    });
  }

  // ---- worker ----------------------------------------------------------------------------------------------

  /**
   * Changes the observed status if the row is in one of `from` (and still at `expectedGeneration`), writing
   * the event in the same transaction. Returns null when the precondition failed. A `terminated` row never
   * changes status again (only its patch fields, with `from: ['terminated'], to: 'terminated'`).
   */
  async transition(id: string, change: StatusTransition): Promise<InstanceEntity | null> {
    const recorded = await this.dataSource.transaction(async (manager) => {
      const instance = await manager
        .getRepository(InstanceEntity)
        .findOne({ where: { id }, lock: { mode: 'pessimistic_write' } });
      if (!instance) return null;
      if (change.from && !change.from.includes(instance.status)) return null;
      if (instance.status === 'terminated' && change.to !== 'terminated') {
        // Only a reactivation leaves `terminated`: asked for (desired state), and the data still there.
        const reopening =
          change.reopensTerminated === true && instance.desiredState !== 'terminated' && !instance.purgedAt;
        if (!reopening) return null;
      }
      if (change.expectedGeneration !== undefined && instance.generation !== change.expectedGeneration) {
        return null;
      }
      const update: InstanceColumnUpdate = {
        ...(change.patch ?? {}),
        status: change.to,
        updatedAt: new Date(),
      };
      if (change.appliedGeneration !== undefined) {
        update.appliedGeneration = Math.min(
          instance.generation,
          Math.max(instance.appliedGeneration, change.appliedGeneration),
        );
      }
      if (
        change.completesOperationJobId !== undefined &&
        instance.pendingOperation?.job_id === change.completesOperationJobId
      ) {
        update.pendingOperation = null;
      }
      await manager.update(InstanceEntity, { id }, update);
      const fromStatus = instance.status;
      const updated = Object.assign(instance, update);
      if (fromStatus !== change.to || change.action) {
        await this.insertEvent(manager, {
          instance: updated,
          fromStatus,
          toStatus: change.to,
          action: change.action ?? null,
          actor: change.actor,
          reason: change.reason ?? null,
          jobId: change.jobId ?? null,
        });
        return { updated, event: true };
      }
      return { updated, event: false };
    });
    if (recorded?.event) this.statusListener?.statusRecorded(recorded.updated);
    return recorded?.updated ?? null;
  }

  /** Runtime fields only; no status change, no event. */
  async patch(id: string, patch: InstancePatch): Promise<void> {
    await this.dataSource.getRepository(InstanceEntity).update({ id }, { ...patch, updatedAt: new Date() });
  }

  /**
   * Records a storage measurement (the worker's). `warned` sets or clears the time of the 90 % warning for
   * the current crossing; undefined leaves it.
   */
  async recordUsage(
    id: string,
    usage: {
      storageBytes: number | null;
      databaseBytes: number | null;
      measuredAt: Date;
      warned?: Date | null;
    },
  ): Promise<void> {
    const update: InstanceColumnUpdate = {
      storageBytes: usage.storageBytes,
      databaseBytes: usage.databaseBytes,
      usageMeasuredAt: usage.measuredAt,
    };
    if (usage.warned !== undefined) update.storageWarnedAt = usage.warned;
    await this.dataSource.getRepository(InstanceEntity).update({ id }, update);
  }

  /** Every instance whose data may still exist: the reconciler's working set. */
  async listUnpurged(): Promise<InstanceEntity[]> {
    return this.dataSource
      .getRepository(InstanceEntity)
      .createQueryBuilder('i')
      .where('i.purged_at IS NULL')
      .orderBy('i.created_at', 'ASC')
      .getMany();
  }

  /** Instances of a tenant that still have resources (for deciding whether the tenant network is unused). */
  /** Instances of the tenant whose data may still exist, leaving out `exceptId` if given. */
  async countUnpurgedInTenant(tenantId: string, exceptId?: string): Promise<number> {
    const query = this.dataSource
      .getRepository(InstanceEntity)
      .createQueryBuilder('i')
      .where('i.tenant_id = :tenantId AND i.purged_at IS NULL', { tenantId });
    if (exceptId) query.andWhere('i.id <> :exceptId', { exceptId });
    return query.getCount();
  }

  // ---- internals -------------------------------------------------------------------------------------------

  private async lockRow(manager: EntityManager, id: string): Promise<InstanceEntity> {
    const instance = await manager
      .getRepository(InstanceEntity)
      .findOne({ where: { id }, lock: { mode: 'pessimistic_write' } });
    if (!instance) throw new InstanceNotFoundError();
    return instance;
  }

  private async assertRestorableBackup(
    manager: EntityManager,
    instanceId: string,
    backupId: string,
  ): Promise<void> {
    const backup = await manager
      .getRepository(InstanceBackupEntity)
      .findOne({ where: { id: backupId, instanceId } });
    if (!backup) throw new BackupNotFoundError();
    if (backup.status !== 'completed') {
      throw new InvalidActionParametersError(
        `backup ${backupId} is ${backup.status}, not completed`,
        'backup_id',
      );
    }
  }

  private async applyIntent(
    manager: EntityManager,
    instance: InstanceEntity,
    plan: PlannedIntent,
    action: string,
    context: IntentContext,
    suspensionSources?: SuspensionSource[],
  ): Promise<RecordedIntent> {
    const generation = instance.generation + 1;
    const jobId = lifecycleJobId(instance.id, plan.jobName, generation);
    const now = new Date();
    const update: InstanceColumnUpdate = {
      generation,
      desiredState: plan.desiredState,
      previousStatus: plan.previousStatus,
      updatedAt: now,
    };
    if (suspensionSources !== undefined) update.suspensionSources = suspensionSources;
    if (plan.operation === 'clear') {
      update.pendingOperation = null;
    } else if (plan.operation) {
      const operation: PendingOperation = {
        action: plan.operation.action,
        params: plan.operation.params,
        generation,
        job_id: jobId,
        requested_by: context.actor,
        requested_at: now.toISOString(),
      };
      update.pendingOperation = operation;
    }
    if (plan.operation === null || plan.operation === 'clear') update.desiredJobId = jobId;
    await manager.update(InstanceEntity, { id: instance.id }, update);
    const updated = Object.assign(instance, update);
    await this.insertEvent(manager, {
      instance: updated,
      fromStatus: updated.status,
      toStatus: updated.status,
      action,
      actor: context.actor,
      reason: context.reason ?? null,
      jobId,
    });
    return {
      instance: updated,
      job: {
        name: plan.jobName,
        instanceId: instance.id,
        generation,
        params: plan.params,
        requestedBy: context.actor,
        reason: context.reason ?? null,
      },
    };
  }

  private async insertEvent(
    manager: EntityManager,
    event: {
      instance: InstanceEntity;
      fromStatus: InstanceStatus | null;
      toStatus: InstanceStatus;
      action: string | null;
      actor: string;
      reason: string | null;
      jobId: string | null;
    },
  ): Promise<void> {
    await manager.insert(InstanceEventEntity, {
      instanceId: event.instance.id,
      fromStatus: event.fromStatus,
      toStatus: event.toStatus,
      desiredState: event.instance.desiredState,
      action: event.action,
      actor: event.actor.slice(0, 200),
      reason: event.reason,
      jobId: event.jobId,
      generation: event.instance.generation,
      createdAt: new Date(),
    });
  }
}
