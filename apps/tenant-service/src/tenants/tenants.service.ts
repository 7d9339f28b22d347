import { Injectable, Logger } from '@nestjs/common';
import type { AuthenticatedUser } from '@app/auth';
import type {
  CustomerTenantSummary,
  InternalMembership,
  InternalTenant,
  QuotaReservation,
  TenantPlan,
  TenantRole,
} from '@app/contracts';
import { APP_CONFIG } from '@app/config';
import { DOMAIN_EVENTS } from '@app/contracts';
import { DomainEventPublisher } from '@app/redis';
import { ConflictError, DomainError, ForbiddenError, NotFoundError, ValidationFailedError } from '@app/http';
import { assertTenantPermission, PLAN_INSTANCE_LIMITS, TenantPermission } from '@app/tenancy';
import { HttpStatus, Inject } from '@nestjs/common';
import { InstanceServiceClient, UserDirectoryClient } from '../clients/platform-clients';
import type { Config } from '../config/env';
import { TenantEntity, TenantMemberEntity } from './tenant.entity';
import { TenantsRepository } from './tenants.repository';
import { subdomainProblem } from './subdomain';
import {
  CustomerStats,
  MemberList,
  MemberView,
  SubdomainCheck,
  TenantPage,
  TenantSuspension,
  TenantView,
} from './tenant.views';

export function instanceLimit(tenant: TenantEntity): number {
  return tenant.maxInstancesOverride ?? PLAN_INSTANCE_LIMITS[tenant.plan];
}

export function tenantView(
  tenant: TenantEntity,
  extra: { role?: TenantRole | null; used?: number } = {},
): TenantView {
  const limit = instanceLimit(tenant);
  return {
    id: tenant.id,
    name: tenant.name,
    subdomain: tenant.subdomain,
    plan: tenant.plan,
    status: tenant.status,
    owner_id: tenant.ownerId,
    max_instances: limit,
    max_instances_override: tenant.maxInstancesOverride,
    ...(extra.role !== undefined ? { my_role: extra.role } : {}),
    ...(extra.used !== undefined
      ? { instances_used: extra.used, instances_free: Math.max(0, limit - extra.used) }
      : {}),
    created_at: tenant.createdAt.toISOString(),
    updated_at: tenant.updatedAt.toISOString(),
  };
}

/** The plan a customer may choose for themselves: the default one. Others come from billing or an admin. */
export const SELF_SERVICE_PLAN: TenantPlan = 'starter';

export class PlanNotSelfServiceError extends ForbiddenError {
  constructor() {
    super(
      'PLAN_NOT_SELF_SERVICE',
      'The plan of a tenant is changed through billing or by an administrator, not by its members',
    );
  }
}

export class TenantLimitReachedError extends ConflictError {
  constructor(limit: number) {
    super('TENANT_LIMIT_REACHED', `A customer may own at most ${limit} tenants`, [
      { max_tenants_per_customer: limit },
    ]);
  }
}

export function memberView(m: TenantMemberEntity): MemberView {
  return { user_id: m.userId, email: m.email, role: m.role, joined_at: m.createdAt.toISOString() };
}

@Injectable()
export class TenantsService {
  private readonly logger = new Logger(TenantsService.name);

  constructor(
    private readonly tenants: TenantsRepository,
    private readonly users: UserDirectoryClient,
    private readonly instances: InstanceServiceClient,
    @Inject(APP_CONFIG) private readonly config: Config,
    private readonly events: DomainEventPublisher,
  ) {}

  /** Loads a live tenant and checks the caller's permission in it (404 for strangers, 403 for weak roles). */
  async access(tenantId: string, user: AuthenticatedUser, permission: TenantPermission) {
    const membership = await this.tenants.findMembership(tenantId, user.id);
    const isPlatformAdmin = user.role === 'admin';
    assertTenantPermission(membership?.role ?? null, permission, { isPlatformAdmin });
    const tenant = membership?.tenant ?? (await this.tenants.findLive(tenantId));
    if (!tenant) throw new NotFoundError('Tenant');
    return { tenant, role: membership?.role ?? null };
  }

  async create(
    user: AuthenticatedUser,
    input: { name: string; subdomain: string; plan?: TenantPlan },
  ): Promise<TenantView> {
    const problem = subdomainProblem(input.subdomain);
    if (problem)
      throw new ValidationFailedError(`subdomain ${problem}`, [{ field: 'subdomain', problems: [problem] }]);
    const plan = input.plan ?? SELF_SERVICE_PLAN;
    const isAdmin = user.role === 'admin';
    if (plan !== SELF_SERVICE_PLAN && !isAdmin) throw new PlanNotSelfServiceError();
    const tenant = await this.tenants.createWithOwner(
      { ...input, plan },
      user,
      isAdmin ? null : this.config.MAX_TENANTS_PER_CUSTOMER,
    );
    if (!tenant) throw new TenantLimitReachedError(this.config.MAX_TENANTS_PER_CUSTOMER);
    return tenantView(tenant, { role: 'owner', used: 0 });
  }

  async checkSubdomain(subdomain: string): Promise<SubdomainCheck> {
    const normalised = subdomain.trim().toLowerCase();
    const problem = subdomainProblem(normalised);
    if (problem) return { subdomain: normalised, available: false, reason: `Subdomain ${problem}` };
    const taken = await this.tenants.subdomainTaken(normalised);
    return { subdomain: normalised, available: !taken, reason: taken ? 'Subdomain is already taken' : null };
  }

  async listMine(user: AuthenticatedUser, page: number, pageSize: number): Promise<TenantPage> {
    const { items, total } = await this.tenants.listForUser(user.id, page, pageSize);
    const used = await this.tenants.reservationCounts(items.map((i) => i.tenant.id));
    return {
      tenants: items.map(({ tenant, role }) => tenantView(tenant, { role, used: used.get(tenant.id) ?? 0 })),
      total,
      page,
      page_size: pageSize,
    };
  }

  async get(user: AuthenticatedUser, tenantId: string): Promise<TenantView> {
    const { tenant, role } = await this.access(tenantId, user, 'tenant:read');
    return tenantView(tenant, { role, used: await this.tenants.reservationCount(tenant.id) });
  }

  /** Name by its owner; the plan only by a platform admin (403 for members: billing uses the internal API). */
  async update(
    user: AuthenticatedUser,
    tenantId: string,
    patch: { name?: string; plan?: TenantPlan },
  ): Promise<TenantView> {
    const { tenant, role } = await this.access(tenantId, user, 'tenant:update');
    const planChanges = patch.plan !== undefined && patch.plan !== tenant.plan;
    if (planChanges && user.role !== 'admin') throw new PlanNotSelfServiceError();
    if (patch.plan !== undefined && planChanges) await this.changePlan(tenant, patch.plan);
    if (patch.name !== undefined) await this.tenants.update(tenant.id, { name: patch.name });
    const updated = (await this.tenants.findLive(tenant.id)) as TenantEntity;
    return tenantView(updated, { role, used: await this.tenants.reservationCount(tenant.id) });
  }

  /**
   * Sets the tenant's plan (admin or billing). Refused when the tenant has more instances than the plan
   * allows; instances above the new plan's per-instance ceilings are lowered by instance-service.
   */
  private async changePlan(tenant: TenantEntity, plan: TenantPlan): Promise<void> {
    const used = await this.tenants.reservationCount(tenant.id);
    if (tenant.maxInstancesOverride === null && PLAN_INSTANCE_LIMITS[plan] < used) {
      throw new ConflictError(
        'PLAN_TOO_SMALL',
        `Plan "${plan}" allows ${PLAN_INSTANCE_LIMITS[plan]} instances but the tenant has ${used}`,
      );
    }
    // Instances first: if instance-service cannot be reached nothing changes (503, retry).
    if (used > 0) await this.instances.applyPlanCeiling(tenant.id, plan);
    await this.tenants.update(tenant.id, { plan });
  }

  /** PUT /internal/tenants/{id}/plan: billing sets the plan. */
  async setPlan(tenantId: string, plan: TenantPlan): Promise<InternalTenant> {
    const tenant = await this.tenants.findLive(tenantId);
    if (!tenant) throw new NotFoundError('Tenant');
    if (plan !== tenant.plan) await this.changePlan(tenant, plan);
    return this.internalTenant(tenantId);
  }

  async internalTenant(tenantId: string): Promise<InternalTenant> {
    const tenant = await this.tenants.findLive(tenantId);
    if (!tenant) throw new NotFoundError('Tenant');
    return {
      id: tenant.id,
      owner_id: tenant.ownerId,
      subdomain: tenant.subdomain,
      plan: tenant.plan,
      status: tenant.status,
    };
  }

  /** Soft delete, refused while any instance of the tenant is not terminated. */
  async remove(user: AuthenticatedUser, tenantId: string) {
    const { tenant } = await this.access(tenantId, user, 'tenant:delete');
    const [count, reserved] = await Promise.all([
      this.instances.tenantInstances(tenant.id),
      this.tenants.reservationCount(tenant.id),
    ]);
    const live = count.instance_count - (count.by_status.terminated ?? 0);
    if (live > 0 || reserved > 0) {
      throw new ConflictError(
        'TENANT_HAS_INSTANCES',
        'Terminate every instance of the tenant before deleting it',
        [{ live_instances: Math.max(live, reserved) }],
      );
    }
    await this.tenants.setStatus(tenant.id, 'deleted', null);
  }

  // ---- members ----

  async listMembers(user: AuthenticatedUser, tenantId: string): Promise<MemberList> {
    const { tenant } = await this.access(tenantId, user, 'members:read');
    return { members: (await this.tenants.listMembers(tenant.id)).map(memberView) };
  }

  async invite(
    user: AuthenticatedUser,
    tenantId: string,
    email: string,
    role: 'admin' | 'viewer',
  ): Promise<MemberView> {
    const { tenant } = await this.access(tenantId, user, 'members:manage');
    const invitee = await this.users.findByEmail(email);
    if (!invitee || !invitee.is_active) {
      throw new DomainError(
        HttpStatus.NOT_FOUND,
        'USER_NOT_FOUND',
        `No active account uses ${email}; they must sign up first`,
      );
    }
    return memberView(
      await this.tenants.addMember(tenant.id, { id: invitee.id, email: invitee.email }, role),
    );
  }

  private async existingMember(tenantId: string, userId: string) {
    const member = await this.tenants.findMember(tenantId, userId);
    if (!member) throw new NotFoundError('Member');
    return member;
  }

  async changeRole(
    user: AuthenticatedUser,
    tenantId: string,
    memberId: string,
    role: 'admin' | 'viewer',
  ): Promise<MemberView> {
    const { tenant } = await this.access(tenantId, user, 'members:manage');
    const member = await this.existingMember(tenant.id, memberId);
    if (member.role === 'owner') {
      throw new ConflictError(
        'OWNER_ROLE_FIXED',
        'Transfer ownership first; the owner role cannot be changed',
      );
    }
    await this.tenants.setMemberRole(tenant.id, memberId, role);
    return memberView({ ...member, role });
  }

  async removeMember(user: AuthenticatedUser, tenantId: string, memberId: string) {
    const { tenant } = await this.access(tenantId, user, 'members:manage');
    const member = await this.existingMember(tenant.id, memberId);
    if (member.role === 'owner') throw new ConflictError('OWNER_CANNOT_LEAVE', 'The owner cannot be removed');
    await this.tenants.removeMember(tenant.id, memberId);
  }

  async transferOwnership(
    user: AuthenticatedUser,
    tenantId: string,
    newOwnerId: string,
  ): Promise<TenantView> {
    const { tenant } = await this.access(tenantId, user, 'ownership:transfer');
    const member = await this.existingMember(tenant.id, newOwnerId);
    if (member.role === 'owner') return this.get(user, tenantId);
    await this.tenants.transferOwnership(tenant.id, tenant.ownerId, newOwnerId);
    return this.get(user, tenantId);
  }

  // ---- stats (seed issue #003) ----

  async customerStats(user: AuthenticatedUser, customerId: string): Promise<CustomerStats> {
    if (user.role !== 'admin' && user.id !== customerId) throw new NotFoundError('Customer');
    const owned = (await this.tenants.membershipsOf(customerId)).filter((m) => m.role === 'owner');
    const used = await this.tenants.reservationCounts(owned.map((m) => m.tenant.id));
    const warnings: string[] = [];
    let instances: { total: number; by_status: Record<string, number> } | null = null;
    try {
      const count = await this.instances.customerInstances(customerId);
      instances = { total: count.instance_count, by_status: count.by_status as Record<string, number> };
    } catch (error) {
      if (!(error instanceof DomainError)) throw error;
      this.logger.warn(`stats without instance counts: ${error.message}`);
      warnings.push('instance-service unavailable');
    }
    const tenants = owned.map(({ tenant }) =>
      tenantView(tenant, { role: 'owner', used: used.get(tenant.id) ?? 0 }),
    );
    return {
      customer_id: customerId,
      tenants_owned: tenants.length,
      tenants,
      instances,
      quota: {
        used: tenants.reduce((sum, t) => sum + (t.instances_used ?? 0), 0),
        limit: tenants.reduce((sum, t) => sum + t.max_instances, 0),
      },
      warnings,
    };
  }

  // ---- internal API ----

  async membership(tenantId: string, userId: string): Promise<InternalMembership> {
    const found = await this.tenants.findMembership(tenantId, userId);
    if (!found) throw new NotFoundError('Membership');
    return {
      tenant_id: found.tenant.id,
      user_id: userId,
      role: found.role,
      tenant_status: found.tenant.status,
      owner_id: found.tenant.ownerId,
      subdomain: found.tenant.subdomain,
      plan: found.tenant.plan,
    };
  }

  async reserve(
    tenantId: string,
    instanceId: string,
  ): Promise<{ created: boolean; reservation: QuotaReservation }> {
    const outcome = await this.tenants.reserve(tenantId, instanceId, instanceLimit);
    if (outcome.kind === 'tenant_unavailable') {
      if (outcome.status === 'suspended')
        throw new ConflictError('TENANT_SUSPENDED', 'The tenant is suspended');
      throw new NotFoundError('Tenant');
    }
    const tenant = (await this.tenants.findLive(tenantId)) as TenantEntity;
    const limit = instanceLimit(tenant);
    if (outcome.kind === 'quota_exceeded') {
      throw new ConflictError(
        'QUOTA_EXCEEDED',
        `The tenant's plan allows ${limit} instances and all are in use`,
        [{ used: outcome.used, limit }],
      );
    }
    return {
      created: outcome.kind === 'reserved',
      reservation: { tenant_id: tenantId, instance_id: instanceId, used: outcome.used, limit },
    };
  }

  release(tenantId: string, instanceId: string): Promise<void> {
    return this.tenants.release(tenantId, instanceId);
  }

  async customerSummary(customerId: string): Promise<CustomerTenantSummary> {
    const memberships = await this.tenants.membershipsOf(customerId);
    return {
      tenant_count: memberships.length,
      tenants: memberships.map(({ tenant, role }) => ({
        id: tenant.id,
        name: tenant.name,
        subdomain: tenant.subdomain,
        role,
        plan: tenant.plan,
        status: tenant.status,
      })),
    };
  }

  // ---- admin ----

  async adminList(page: number, pageSize: number, search?: string): Promise<TenantPage> {
    const { items, total } = await this.tenants.adminList(page, pageSize, search);
    const used = await this.tenants.reservationCounts(items.map((t) => t.id));
    return {
      tenants: items.map((t) => tenantView(t, { used: used.get(t.id) ?? 0 })),
      total,
      page,
      page_size: pageSize,
    };
  }

  /** Instances are suspended first: if instance-service cannot be reached nothing changes (503, retry). */
  async setSuspended(tenantId: string, suspended: boolean, reason: string): Promise<TenantSuspension> {
    const tenant = await this.tenants.findLive(tenantId);
    if (!tenant) throw new NotFoundError('Tenant');
    const affected = await this.instances.setTenantSuspended(tenant.id, suspended, reason);
    await this.tenants.setStatus(tenant.id, suspended ? 'suspended' : 'active', suspended ? reason : null);
    this.events.publish(suspended ? DOMAIN_EVENTS.tenantSuspended : DOMAIN_EVENTS.tenantActivated, {
      tenant_id: tenant.id,
      reason,
    });
    const updated = (await this.tenants.findLive(tenant.id)) as TenantEntity;
    return { tenant: tenantView(updated), instances_affected: affected };
  }

  async setQuotaOverride(tenantId: string, maxInstances: number | null): Promise<TenantView> {
    const tenant = await this.tenants.findLive(tenantId);
    if (!tenant) throw new NotFoundError('Tenant');
    await this.tenants.update(tenant.id, { maxInstancesOverride: maxInstances });
    const updated = (await this.tenants.findLive(tenant.id)) as TenantEntity;
    return tenantView(updated, { used: await this.tenants.reservationCount(tenant.id) });
  }
}
