import { Inject, Injectable, Logger } from '@nestjs/common';
import type { AuthenticatedUser } from '@app/auth';
import { APP_CONFIG } from '@app/config';
import type { ProvisionSource } from '@app/contracts';
import { ConflictError, DomainError, NotFoundError } from '@app/http';
import {
  InstanceNameTakenError,
  InstancesRepository,
  type InstanceEntity,
  type JsonValue,
  type RecordedIntent,
} from '@app/instance-data';
import { BillingServiceClient } from '../billing/billing-service.client';
import { InstanceMetrics } from '../common/instance-metrics';
import { RandomSource } from '../common/random-source';
import type { Config } from '../config/env';
import { QuotaSlots } from '../tenants/quota-slots';
import { TenantAccessPolicy } from '../tenants/tenant-access';
import { AbandonedInstancesRepository } from './abandoned-instances.repository';
import { AdminPasswordIssuer } from './admin-password';
import type { CreatedInstanceResponseDto, CreateInstanceDto } from './instance.dto';
import { instanceView } from './instance.views';
import { assertWithinCeiling, BILLING_PLAN_CEILINGS, clampToCeiling, isBillingPlan } from '@app/tenancy';
import {
  assertResourceMinimums,
  subdomainFromDatabaseName,
  type InstanceType,
  type OdooVersion,
  type ResourceLimits,
} from './instance-rules';
import { LifecycleDispatcher } from './lifecycle-dispatcher';
import { instanceCeiling } from './plan-ceilings';

const DEFAULTS: { odoo_version: OdooVersion; instance_type: InstanceType } & ResourceLimits = {
  odoo_version: '17.0',
  instance_type: 'development',
  cpu_limit: 1,
  memory_limit: '1G',
  storage_limit: '10G',
};

/**
 * An instance whose data comes from an archive (an import, a staging copy) instead of a fresh database.
 * `prepare` runs once every check passed and the quota slot is held, before anything is written: it receives,
 * validates and hands the archive to the worker; a throw gives the slot back and records nothing. `abandon`
 * undoes what `prepare` left when the row could not be recorded after all.
 */
export interface CreationOrigin {
  source: ProvisionSource;
  prepare(instanceId: string, limits: ResourceLimits): Promise<void>;
  abandon(instanceId: string): Promise<void>;
}

/** Attempts at a free derived subdomain (`acme`, then `acme-3f9a`, …). */
const DERIVED_SUBDOMAIN_ATTEMPTS = 5;

/** POST /api/v1/instances: validation, tenant role and quota, the row, billing, the provisioning job. */
@Injectable()
export class InstanceCreationService {
  private readonly logger = new Logger(InstanceCreationService.name);

  constructor(
    private readonly instances: InstancesRepository,
    private readonly abandoned: AbandonedInstancesRepository,
    private readonly access: TenantAccessPolicy,
    private readonly quota: QuotaSlots,
    private readonly billing: BillingServiceClient,
    private readonly passwords: AdminPasswordIssuer,
    private readonly dispatcher: LifecycleDispatcher,
    private readonly random: RandomSource,
    private readonly metrics: InstanceMetrics,
    @Inject(APP_CONFIG) private readonly config: Config,
  ) {}

  /**
   * Validates everything that can be checked locally first (so a 400 writes nothing), then: tenant role,
   * name availability, quota slot, row + event (+ provisioning job when entitled), billing subscription.
   * A failure after the slot was taken gives it back; a billing failure also removes the row.
   */
  async create(
    user: AuthenticatedUser,
    dto: CreateInstanceDto,
    requestId?: string,
    origin?: CreationOrigin,
  ): Promise<CreatedInstanceResponseDto> {
    try {
      const created = await this.createInstance(user, dto, requestId, origin);
      this.metrics.creations.inc({ outcome: 'created' });
      return created;
    } catch (error) {
      const status = error instanceof DomainError ? error.status : 500;
      this.metrics.creations.inc({ outcome: status >= 500 ? 'failed' : 'rejected' });
      throw error;
    }
  }

  private async createInstance(
    user: AuthenticatedUser,
    dto: CreateInstanceDto,
    requestId?: string,
    origin?: CreationOrigin,
  ): Promise<CreatedInstanceResponseDto> {
    const instanceType = dto.instance_type ?? DEFAULTS.instance_type;
    const billingPlan = dto.plan_name && isBillingPlan(dto.plan_name) ? dto.plan_name : null;
    // A billing plan's entitlements apply from the start; without one, the platform's defaults.
    const base: ResourceLimits = billingPlan ? BILLING_PLAN_CEILINGS[billingPlan] : DEFAULTS;
    const requested: Partial<ResourceLimits> = {
      cpu_limit: dto.cpu_limit,
      memory_limit: dto.memory_limit,
      storage_limit: dto.storage_limit,
    };
    assertResourceMinimums({
      cpu_limit: requested.cpu_limit ?? base.cpu_limit,
      memory_limit: requested.memory_limit ?? base.memory_limit,
      storage_limit: requested.storage_limit ?? base.storage_limit,
    });

    // The name checks are read-only and run while tenant-service answers; their outcome is only looked at
    // once the caller's access is established (a stranger learns nothing about names).
    const names = Promise.all([
      this.instances.isDatabaseNameAvailable(dto.database_name),
      dto.subdomain === undefined
        ? this.derivedSubdomain(dto.database_name)
        : this.instances.isSubdomainAvailable(dto.subdomain).then((free) => (free ? dto.subdomain : null)),
    ]);
    names.catch(() => undefined); // awaited below unless access is refused first
    const access = await this.access.check(user, dto.tenant_id, 'instances:operate', 'Tenant');
    const tenant = await this.access.tenantState(dto.tenant_id, access, 'Tenant');
    if (tenant.status !== 'active') {
      if (tenant.status === 'deleted') throw new NotFoundError('Tenant');
      throw new ConflictError('TENANT_SUSPENDED', 'The tenant is suspended; no instance can be created');
    }
    // Above the plan: 409 before anything is written (no slot, no row). Unset fields take what the plan allows.
    const { plan, ceiling } = instanceCeiling(tenant.plan, billingPlan);
    const allowed = clampToCeiling(base, ceiling);
    const limits: ResourceLimits = {
      cpu_limit: requested.cpu_limit ?? allowed.cpu_limit,
      memory_limit: requested.memory_limit ?? allowed.memory_limit,
      storage_limit: requested.storage_limit ?? allowed.storage_limit,
    };
    assertWithinCeiling(plan, limits, ceiling);
    const [databaseNameFree, subdomain] = await names;
    if (!databaseNameFree) throw new InstanceNameTakenError('database_name');
    if (!subdomain) throw new InstanceNameTakenError('subdomain');

    const id = this.random.uuid();
    const adminPassword = this.passwords.issue(id);
    await this.quota.reserve(dto.tenant_id, id);
    if (origin) {
      try {
        await origin.prepare(id, limits);
      } catch (error) {
        await this.quota.release(dto.tenant_id, id);
        throw error;
      }
    }

    const entitled = this.config.BILLING_PROVIDER === 'none';
    let recorded: RecordedIntent;
    try {
      recorded = await this.instances.create(
        {
          id,
          tenantId: dto.tenant_id,
          customerId: user.id,
          name: dto.name,
          description: dto.description ?? null,
          odooVersion: dto.odoo_version ?? DEFAULTS.odoo_version,
          instanceType,
          cpuLimit: limits.cpu_limit,
          memoryLimit: limits.memory_limit,
          storageLimit: limits.storage_limit,
          adminEmail: dto.admin_email,
          adminPasswordHash: adminPassword.hash,
          adminPasswordEnc: adminPassword.sealed,
          demoData: dto.demo_data ?? false,
          databaseName: dto.database_name,
          subdomain,
          customAddons: dto.custom_addons ?? [],
          disabledModules: dto.disabled_modules ?? [],
          environmentVars: dto.environment_vars ?? {},
          metadata: (dto.metadata ?? {}) as Record<string, JsonValue>,
          planName: dto.plan_name ?? null,
          provisionSource: origin?.source ?? null,
        },
        {
          entitled,
          actor: user.id,
          reason: entitled
            ? 'created; entitled at once (BILLING_PROVIDER=none)'
            : dto.plan_name
              ? `created; waiting for billing to entitle plan ${dto.plan_name}`
              : 'created; waiting for a subscription',
        },
      );
    } catch (error) {
      await this.quota.release(dto.tenant_id, id);
      await origin?.abandon(id).catch((e: unknown) => {
        this.logger.warn({ msg: 'could not drop the archive', instance_id: id, error: String(e) });
      });
      throw error;
    }

    let instance = recorded.instance;
    if (!entitled && dto.plan_name) {
      await this.subscribe(user, instance, dto.plan_name, tenant.ownerId, requestId);
      // Billing may have entitled it already (PUT /internal/instances/{id}/desired-state during the call).
      instance = (await this.instances.findById(id)) ?? instance;
    }
    if (recorded.job) await this.dispatcher.dispatch(recorded.job);
    return { ...instanceView(instance), admin_password: adminPassword.password };
  }

  /**
   * POST billing-service /internal/subscriptions. If it fails, the instance is removed and its slot given
   * back (nothing is left behind), unless billing entitled it in the meantime: then the subscription
   * exists and the creation stands.
   */
  private async subscribe(
    user: AuthenticatedUser,
    instance: InstanceEntity,
    planName: string,
    ownerId: string | undefined,
    requestId?: string,
  ): Promise<void> {
    try {
      await this.billing.createSubscription(
        {
          tenant_id: instance.tenantId,
          instance_id: instance.id,
          customer_id: ownerId ?? user.id,
          plan_name: planName,
        },
        requestId,
      );
    } catch (error) {
      const removed = await this.abandoned.discardUnentitled(instance.id);
      if (!removed && (await this.instances.findById(instance.id))) {
        this.logger.warn({
          msg: 'billing call failed but the instance was entitled meanwhile; keeping it',
          instance_id: instance.id,
        });
        return;
      }
      await this.quota.release(instance.tenantId, instance.id);
      throw error;
    }
  }

  /** The database name as a subdomain, with a random suffix when a live instance already uses it. */
  private async derivedSubdomain(databaseName: string): Promise<string> {
    const base = subdomainFromDatabaseName(databaseName);
    let candidate = base;
    for (let attempt = 0; attempt < DERIVED_SUBDOMAIN_ATTEMPTS; attempt++) {
      if (await this.instances.isSubdomainAvailable(candidate)) return candidate;
      candidate = `${base.slice(0, 45)}-${this.random.suffix(4)}`;
    }
    throw new InstanceNameTakenError('subdomain');
  }
}
