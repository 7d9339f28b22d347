import { Injectable } from '@nestjs/common';
import type { AuthenticatedUser } from '@app/auth';
import type { InstanceAction } from '@app/contracts';
import { ConflictError, DomainError, ValidationFailedError } from '@app/http';
import { sizeInBytes } from '@app/tenancy';
import { InstancesRepository } from '@app/instance-data';
import type { LifecycleJobParams } from '@app/queue';
import { InstanceMetrics } from '../common/instance-metrics';
import { QuotaSlots } from '../tenants/quota-slots';
import { TenantAccessPolicy, TenantSuspendedError } from '../tenants/tenant-access';
import type { ActionAcceptedDto } from './instance.dto';
import { LifecycleDispatcher } from './lifecycle-dispatcher';
import { ManualBackupLimit } from './manual-backup-limit';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** The parameters each action takes; anything else is a 400. */
const PARAMETERS: Record<InstanceAction, readonly (keyof LifecycleJobParams)[]> = {
  start: [],
  stop: [],
  restart: [],
  suspend: [],
  unsuspend: [],
  backup: [],
  restore: ['backup_id'],
  upgrade: ['version'],
  terminate: [],
  reactivate: [],
};

/** What a suspended tenant's instances refuse: nothing may come back up, change or be copied. */
const REFUSED_WHILE_TENANT_SUSPENDED: readonly InstanceAction[] = [
  'start',
  'restart',
  'unsuspend',
  'backup',
  'restore',
  'upgrade',
  'reactivate',
];

/** What a full instance refuses until its storage is back under the limit (each writes more data). */
const REFUSED_AT_STORAGE_LIMIT: readonly InstanceAction[] = ['backup', 'restore', 'upgrade'];

function invalid(field: string, problem: string): ValidationFailedError {
  return new ValidationFailedError(`parameters.${field}: ${problem}`, [
    { field: `parameters.${field}`, problems: [problem] },
  ]);
}

/** Shapes only; whether the backup exists and the version is newer is checked with the row locked. */
export function actionParameters(
  action: InstanceAction,
  parameters: Record<string, unknown>,
): LifecycleJobParams {
  const allowed = PARAMETERS[action];
  for (const key of Object.keys(parameters)) {
    if (!(allowed as readonly string[]).includes(key)) {
      throw invalid(
        key,
        allowed.length ? `${action} takes only ${allowed.join(', ')}` : `${action} takes no parameters`,
      );
    }
  }
  const params: LifecycleJobParams = {};
  if (action === 'restore') {
    const backupId = parameters.backup_id;
    if (typeof backupId !== 'string' || !UUID.test(backupId))
      throw invalid('backup_id', 'restore needs the id of a backup');
    params.backup_id = backupId.toLowerCase();
  }
  if (action === 'upgrade') {
    const version = parameters.version;
    if (typeof version !== 'string')
      throw invalid('version', 'upgrade needs the target Odoo version, such as 18.0');
    params.version = version;
  }
  return params;
}

/**
 * Lifecycle actions: recorded in the instance row (generation, desired state or pending operation, event
 * with the user as actor) by InstancesRepository.requestAction, then enqueued. The API never touches Docker.
 */
@Injectable()
export class InstanceActionsService {
  constructor(
    private readonly instances: InstancesRepository,
    private readonly access: TenantAccessPolicy,
    private readonly dispatcher: LifecycleDispatcher,
    private readonly quota: QuotaSlots,
    private readonly metrics: InstanceMetrics,
    private readonly manualBackups: ManualBackupLimit,
  ) {}

  async perform(
    user: AuthenticatedUser,
    id: string,
    request: { action: InstanceAction; parameters: Record<string, unknown> },
  ): Promise<ActionAcceptedDto> {
    const { action } = request;
    const instance = await this.instances.getById(id);
    const access = await this.access.check(user, instance.tenantId, 'instances:operate', 'Instance');
    let recorded;
    try {
      const params = actionParameters(action, request.parameters);
      if (REFUSED_AT_STORAGE_LIMIT.includes(action)) {
        const used = (instance.storageBytes ?? 0) + (instance.databaseBytes ?? 0);
        const limit = sizeInBytes(instance.storageLimit);
        if (used >= limit) {
          throw new ConflictError(
            'STORAGE_LIMIT_EXCEEDED',
            `The instance uses all of its ${instance.storageLimit} of storage; ${action} is refused until it is back under`,
            [
              {
                storage_bytes: instance.storageBytes,
                database_bytes: instance.databaseBytes,
                limit_bytes: limit,
              },
            ],
          );
        }
      }
      if (REFUSED_WHILE_TENANT_SUSPENDED.includes(action)) {
        const tenant = await this.access.tenantState(instance.tenantId, access, 'Instance');
        if (tenant.status === 'suspended') throw new TenantSuspendedError(`${action} is refused`);
      }
      if (action === 'backup') await this.manualBackups.assertAllowed(id);
      // A reactivated instance takes a slot of the tenant's quota again (terminate gave it back).
      if (action === 'reactivate') await this.quota.reserve(instance.tenantId, id);
      try {
        recorded = await this.instances.requestAction(id, action, params, {
          actor: user.id,
          reason: `${action} requested through the API`,
          suspensionSource: access.suspensionSource,
          mayLift: access.mayLift,
        });
      } catch (error) {
        if (action === 'reactivate') await this.quota.release(instance.tenantId, id);
        throw error;
      }
    } catch (error) {
      if (error instanceof DomainError) this.metrics.actions.inc({ action, outcome: 'rejected' });
      throw error;
    }
    const jobId = await this.dispatcher.dispatch(recorded.job);
    if (action === 'terminate') await this.quota.release(instance.tenantId, id);
    this.metrics.actions.inc({ action, outcome: 'queued' });
    return {
      job_id: jobId,
      instance_id: id,
      action,
      status: 'queued',
      instance_status: recorded.instance.status,
      desired_state: recorded.instance.desiredState,
    };
  }
}
