import { Injectable } from '@nestjs/common';
import { ApiProperty } from '@nestjs/swagger';
import { InternalInstanceState, SUSPENSION_SOURCES } from '@app/contracts';
import type {
  CustomerInstance,
  CustomerInstances,
  DesiredState,
  InstanceCount,
  SuspensionSource,
  TenantPlan,
  TerminatedCustomerInstances,
} from '@app/contracts';
import { InstancesRepository, type InstanceEntity } from '@app/instance-data';
import { clampToCeiling, fieldsAboveCeiling } from '@app/tenancy';
import { InstanceMetrics } from '../common/instance-metrics';
import { LifecycleDispatcher } from '../instances/lifecycle-dispatcher';
import { assertResourceMinimums } from '../instances/instance-rules';
import { instanceCeiling } from '../instances/plan-ceilings';
import { QuotaSlots } from '../tenants/quota-slots';
import type { DesiredStateDto, InternalLimitsDto } from './internal.dto';

const PAGE_SIZE = 100;

/** The contract's InternalInstanceState, and what else billing-service reads of an instance. */
export class InternalInstanceView extends InternalInstanceState {
  @ApiProperty({ format: 'uuid' })
  customer_id: string;
  @ApiProperty({ example: 'Acme ERP' })
  name: string;
  @ApiProperty({ type: 'string', nullable: true, example: 'acme' })
  subdomain: string | null;
  @ApiProperty({ type: 'string', nullable: true, example: 'starter-monthly' })
  plan_name: string | null;
  @ApiProperty({ description: 'CPUs', example: 1 })
  cpu_limit: number;
  @ApiProperty({ example: '2G' })
  memory_limit: string;
  @ApiProperty({ example: '10G' })
  storage_limit: string;
  @ApiProperty({ type: 'string', nullable: true })
  external_url: string | null;
  @ApiProperty({
    type: 'integer',
    description: 'Version of the intent (desired state and limits) the row holds',
  })
  generation: number;
  @ApiProperty({ enum: SUSPENSION_SOURCES, isArray: true, description: 'Who holds the instance suspended' })
  suspension_sources: SuspensionSource[];
}

function internalView(instance: InstanceEntity): InternalInstanceView {
  return {
    id: instance.id,
    tenant_id: instance.tenantId,
    status: instance.status,
    desired_state: instance.desiredState,
    customer_id: instance.customerId,
    name: instance.name,
    subdomain: instance.subdomain,
    plan_name: instance.planName,
    cpu_limit: instance.cpuLimit,
    memory_limit: instance.memoryLimit,
    storage_limit: instance.storageLimit,
    external_url: instance.externalUrl,
    generation: instance.generation,
    suspension_sources: [...instance.suspensionSources],
  };
}

function customerInstanceView(instance: InstanceEntity): CustomerInstance {
  return {
    id: instance.id,
    tenant_id: instance.tenantId,
    name: instance.name,
    subdomain: instance.subdomain,
    status: instance.status,
    desired_state: instance.desiredState,
  };
}

/** Neither terminated nor on its way there. */
const isLive = (instance: InstanceEntity): boolean =>
  instance.status !== 'terminated' && instance.desiredState !== 'terminated';

/**
 * What other services may ask of instance-service (libs/contracts/src/internal-api.ts): billing entitles,
 * suspends, resumes and terminates through the desired state; tenant-service suspends whole tenants and reads
 * counts. Every change is recorded in the row first, then enqueued (same pattern as the public actions).
 */
@Injectable()
export class InternalInstancesService {
  constructor(
    private readonly instances: InstancesRepository,
    private readonly dispatcher: LifecycleDispatcher,
    private readonly quota: QuotaSlots,
    private readonly metrics: InstanceMetrics,
  ) {}

  async get(id: string): Promise<InternalInstanceView> {
    return internalView(await this.instances.getById(id));
  }

  /** Idempotent; `running` on a pending instance entitles it (provisioning starts). */
  async setDesiredState(id: string, dto: DesiredStateDto): Promise<InternalInstanceView> {
    const { instance } = await this.changeDesiredState(
      id,
      dto.desired_state,
      dto.actor,
      dto.reason,
      dto.source ?? 'billing',
    );
    return internalView(instance);
  }

  private async changeDesiredState(
    id: string,
    desired: DesiredState,
    actor: string,
    reason: string,
    source: 'billing' | 'admin',
  ): Promise<{ instance: InstanceEntity; changed: boolean }> {
    const recorded = await this.instances.requestDesiredState(id, desired, { actor, reason, source });
    if (recorded.job) {
      await this.dispatcher.dispatch(recorded.job);
      this.metrics.actions.inc({ action: `desired:${desired}`, outcome: 'queued' });
    }
    if (desired === 'terminated') await this.quota.release(recorded.instance.tenantId, id);
    return { instance: recorded.instance, changed: recorded.job !== null };
  }

  /** Plan limits from billing (its plan's entitlements, @app/tenancy): only the minimums are checked here. */
  async setLimits(id: string, dto: InternalLimitsDto): Promise<InternalInstanceView> {
    assertResourceMinimums(dto);
    const recorded = await this.instances.requestLimitsChange(
      id,
      { cpuLimit: dto.cpu_limit, memoryLimit: dto.memory_limit, storageLimit: dto.storage_limit },
      {
        actor: dto.actor ?? 'billing-service',
        reason: `plan limits: cpu ${dto.cpu_limit}, memory ${dto.memory_limit}, storage ${dto.storage_limit}`,
      },
    );
    if (recorded.job) await this.dispatcher.dispatch(recorded.job);
    return internalView(recorded.instance);
  }

  /**
   * An administrator's suspension of every live instance of the tenant (source `admin`, recorded even on an
   * instance already suspended by someone else); each remembers the state it returns to.
   */
  async suspendTenant(tenantId: string, reason: string, actor: string): Promise<{ affected: number }> {
    let affected = 0;
    for (const instance of await this.liveInstancesOf({ tenantId })) {
      if (instance.desiredState === 'terminated' || instance.suspensionSources.includes('admin')) continue;
      const { changed } = await this.changeDesiredState(
        instance.id,
        'suspended',
        actor,
        `tenant suspended: ${reason}`,
        'admin',
      );
      if (changed) affected++;
    }
    return { affected };
  }

  /**
   * Lifts the administrator's suspension: instances go back to what they wanted before (running or
   * stopped) unless billing or the customer still holds them suspended.
   */
  async resumeTenant(tenantId: string, reason: string, actor: string): Promise<{ affected: number }> {
    let affected = 0;
    for (const instance of await this.liveInstancesOf({ tenantId })) {
      if (instance.desiredState !== 'suspended' && !instance.suspensionSources.includes('admin')) continue;
      const back: DesiredState = instance.previousStatus === 'stopped' ? 'stopped' : 'running';
      const { changed } = await this.changeDesiredState(
        instance.id,
        back,
        actor,
        `tenant resumed: ${reason}`,
        'admin',
      );
      if (changed) affected++;
    }
    return { affected };
  }

  /** A tenant plan downgrade: every live instance above the plan's per-instance ceilings is lowered to them. */
  async applyTenantPlanCeiling(tenantId: string, plan: TenantPlan): Promise<{ affected: number }> {
    let affected = 0;
    for (const instance of await this.liveInstancesOf({ tenantId })) {
      if (instance.desiredState === 'terminated') continue;
      const current = {
        cpu_limit: instance.cpuLimit,
        memory_limit: instance.memoryLimit,
        storage_limit: instance.storageLimit,
      };
      const { plan: label, ceiling } = instanceCeiling(plan, instance.planName);
      if (fieldsAboveCeiling(current, ceiling).length === 0) continue;
      const lowered = clampToCeiling(current, ceiling);
      const recorded = await this.instances.requestLimitsChange(
        instance.id,
        {
          cpuLimit: lowered.cpu_limit,
          memoryLimit: lowered.memory_limit,
          storageLimit: lowered.storage_limit,
        },
        { actor: 'tenant-service', reason: `plan ${label}: limits lowered to its ceilings` },
      );
      if (recorded.job) await this.dispatcher.dispatch(recorded.job);
      affected++;
    }
    return { affected };
  }

  /** The customer's live instances (user-service asks before it deletes the account). */
  async customerInstances(customerId: string): Promise<CustomerInstances> {
    const live = (await this.liveInstancesOf({ customerId })).filter(isLive);
    return { instances: live.map(customerInstanceView) };
  }

  /** Every live instance of the customer wants `terminated` (account deletion); idempotent. */
  async terminateCustomerInstances(
    customerId: string,
    reason: string,
    actor: string,
  ): Promise<TerminatedCustomerInstances> {
    const terminated: InstanceEntity[] = [];
    for (const instance of (await this.liveInstancesOf({ customerId })).filter(isLive)) {
      // The source matters only for suspensions; termination clears every one of them.
      const { instance: after } = await this.changeDesiredState(
        instance.id,
        'terminated',
        actor,
        reason,
        'admin',
      );
      terminated.push(after);
    }
    return { affected: terminated.length, instances: terminated.map(customerInstanceView) };
  }

  /** `instance_count` counts live (non-terminated) instances, and `by_status` adds up to it. */
  async count(filter: { tenantId?: string; customerId?: string }): Promise<InstanceCount> {
    const { total, byStatus } = await this.instances.countByStatus(filter);
    const { terminated: _terminated, ...live } = byStatus;
    return { instance_count: total, by_status: live };
  }

  private async liveInstancesOf(
    filter: { tenantId: string } | { customerId: string },
  ): Promise<InstanceEntity[]> {
    const all: InstanceEntity[] = [];
    for (let page = 1; ; page++) {
      const { items, total } = await this.instances.list({
        ...filter,
        includeTerminated: false,
        page,
        pageSize: PAGE_SIZE,
      });
      all.push(...items);
      if (items.length === 0 || all.length >= total) return all;
    }
  }
}
