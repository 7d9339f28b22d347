import { Injectable } from '@nestjs/common';
import type { AuthenticatedUser } from '@app/auth';
import { InstancesRepository, InstanceTerminatedError } from '@app/instance-data';
import { TenantAccessPolicy } from '../tenants/tenant-access';
import type { InstanceResponseDto, UpdateInstanceDto } from './instance.dto';
import { instanceView } from './instance.views';
import { assertWithinCeiling } from '@app/tenancy';
import { assertResourceMinimums, type ResourceLimits } from './instance-rules';
import { LifecycleDispatcher } from './lifecycle-dispatcher';
import { instanceCeiling } from './plan-ceilings';

/** PUT /api/v1/instances/{id}: name and description in place, limits through an apply_limits job. */
@Injectable()
export class InstanceUpdatesService {
  constructor(
    private readonly instances: InstancesRepository,
    private readonly access: TenantAccessPolicy,
    private readonly dispatcher: LifecycleDispatcher,
  ) {}

  /**
   * Checks everything before writing anything: a 400 (minimums), 409 PLAN_LIMIT_EXCEEDED (above the tenant's
   * plan or the instance's billing plan) or 409 (terminated) changes nothing.
   */
  async update(user: AuthenticatedUser, id: string, dto: UpdateInstanceDto): Promise<InstanceResponseDto> {
    let instance = await this.instances.getById(id);
    const access = await this.access.check(user, instance.tenantId, 'instances:operate', 'Instance');
    if (instance.status === 'terminated' || instance.desiredState === 'terminated') {
      throw new InstanceTerminatedError();
    }
    const limits: ResourceLimits = {
      cpu_limit: dto.cpu_limit ?? instance.cpuLimit,
      memory_limit: dto.memory_limit ?? instance.memoryLimit,
      storage_limit: dto.storage_limit ?? instance.storageLimit,
    };
    const limitsChanged =
      limits.cpu_limit !== instance.cpuLimit ||
      limits.memory_limit !== instance.memoryLimit ||
      limits.storage_limit !== instance.storageLimit;
    if (limitsChanged) {
      assertResourceMinimums(limits);
      const tenant = await this.access.tenantState(instance.tenantId, access, 'Instance');
      const { plan, ceiling } = instanceCeiling(tenant.plan, instance.planName);
      assertWithinCeiling(plan, limits, ceiling);
    }

    if (dto.name !== undefined || dto.description !== undefined) {
      instance = await this.instances.updateDetails(id, { name: dto.name, description: dto.description });
    }
    if (limitsChanged) {
      const recorded = await this.instances.requestLimitsChange(
        id,
        { cpuLimit: limits.cpu_limit, memoryLimit: limits.memory_limit, storageLimit: limits.storage_limit },
        { actor: user.id, reason: null },
      );
      if (recorded.job) await this.dispatcher.dispatch(recorded.job);
      instance = recorded.instance;
    }
    return instanceView(instance);
  }
}
