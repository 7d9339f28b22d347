import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, EntityManager, QueryFailedError } from 'typeorm';
import type { TenantPlan, TenantRole, TenantStatus } from '@app/contracts';
import { ConflictError } from '@app/http';
import { QuotaReservationEntity, TenantEntity, TenantMemberEntity } from './tenant.entity';

export interface TenantWithRole {
  tenant: TenantEntity;
  role: TenantRole;
}

export type ReservationOutcome =
  | { kind: 'reserved' | 'already_reserved'; used: number }
  | { kind: 'quota_exceeded'; used: number }
  | { kind: 'tenant_unavailable'; status: TenantStatus | 'missing' };

function isUniqueViolation(error: unknown, constraint?: string): boolean {
  const driverError =
    error instanceof QueryFailedError
      ? (error.driverError as { code?: string; constraint?: string })
      : undefined;
  return driverError?.code === '23505' && (!constraint || driverError.constraint === constraint);
}

/** All SQL of tenant-service. Tenants with status 'deleted' are invisible except where stated. */
@Injectable()
export class TenantsRepository {
  constructor(@InjectDataSource() private readonly db: DataSource) {}

  /**
   * Creates the tenant with `owner` as its owner; null when the owner already owns `maxOwned` live tenants
   * (checked under a per-owner transaction lock, so concurrent creates cannot both pass). No limit: null.
   */
  async createWithOwner(
    input: { name: string; subdomain: string; plan: TenantPlan },
    owner: { id: string; email: string },
    maxOwned: number | null,
  ): Promise<TenantEntity | null> {
    try {
      return await this.db.transaction(async (tx) => {
        if (maxOwned !== null) {
          await tx.query(`SELECT pg_advisory_xact_lock(hashtext('tenant-owner:' || $1))`, [owner.id]);
          const owned = await tx
            .getRepository(TenantEntity)
            .createQueryBuilder('t')
            .where('t.owner_id = :ownerId AND t.status <> :deleted', {
              ownerId: owner.id,
              deleted: 'deleted',
            })
            .getCount();
          if (owned >= maxOwned) return null;
        }
        const tenant = await tx
          .getRepository(TenantEntity)
          .save(
            tx
              .getRepository(TenantEntity)
              .create({ ...input, status: 'active', ownerId: owner.id, maxInstancesOverride: null }),
          );
        await tx
          .getRepository(TenantMemberEntity)
          .insert({ tenantId: tenant.id, userId: owner.id, email: owner.email, role: 'owner' });
        return tenant;
      });
    } catch (error) {
      if (isUniqueViolation(error, 'tenants_subdomain_live')) {
        throw new ConflictError('SUBDOMAIN_TAKEN', `Subdomain "${input.subdomain}" is already taken`);
      }
      throw error;
    }
  }

  findLive(id: string): Promise<TenantEntity | null> {
    return this.db
      .getRepository(TenantEntity)
      .createQueryBuilder('t')
      .where('t.id = :id AND t.status <> :deleted', { id, deleted: 'deleted' })
      .getOne();
  }

  async findMembership(tenantId: string, userId: string): Promise<TenantWithRole | null> {
    const tenant = await this.findLive(tenantId);
    if (!tenant) return null;
    const member = await this.db.getRepository(TenantMemberEntity).findOneBy({ tenantId, userId });
    return member ? { tenant, role: member.role } : null;
  }

  async listForUser(
    userId: string,
    page: number,
    pageSize: number,
  ): Promise<{ items: TenantWithRole[]; total: number }> {
    const qb = this.db
      .getRepository(TenantEntity)
      .createQueryBuilder('t')
      .innerJoin(TenantMemberEntity, 'm', 'm.tenant_id = t.id AND m.user_id = :userId', { userId })
      .addSelect('m.role', 'member_role')
      .where('t.status <> :deleted', { deleted: 'deleted' })
      .orderBy('t.created_at', 'DESC')
      .addOrderBy('t.id', 'ASC')
      .offset((page - 1) * pageSize)
      .limit(pageSize);
    const [{ entities, raw }, total] = await Promise.all([qb.getRawAndEntities(), qb.getCount()]);
    const roles = raw as { member_role: TenantRole }[];
    return {
      items: entities.map((tenant, i) => ({ tenant, role: roles[i]?.member_role ?? 'viewer' })),
      total,
    };
  }

  async adminList(
    page: number,
    pageSize: number,
    search?: string,
  ): Promise<{ items: TenantEntity[]; total: number }> {
    const qb = this.db
      .getRepository(TenantEntity)
      .createQueryBuilder('t')
      .orderBy('t.created_at', 'DESC')
      .addOrderBy('t.id');
    if (search)
      qb.where('(t.name ILIKE :q OR t.subdomain ILIKE :q)', { q: `%${search.replace(/[%_\\]/g, '\\$&')}%` });
    const [items, total] = await qb
      .offset((page - 1) * pageSize)
      .limit(pageSize)
      .getManyAndCount();
    return { items, total };
  }

  async subdomainTaken(subdomain: string): Promise<boolean> {
    return this.db
      .getRepository(TenantEntity)
      .createQueryBuilder('t')
      .where('t.subdomain = :subdomain AND t.status <> :deleted', { subdomain, deleted: 'deleted' })
      .getExists();
  }

  async update(
    id: string,
    patch: Partial<Pick<TenantEntity, 'name' | 'plan' | 'maxInstancesOverride'>>,
  ): Promise<void> {
    await this.db.getRepository(TenantEntity).update({ id }, patch);
  }

  async setStatus(id: string, status: TenantStatus, reason: string | null): Promise<void> {
    await this.db
      .getRepository(TenantEntity)
      .update(
        { id },
        { status, suspendedReason: reason, ...(status === 'deleted' ? { deletedAt: new Date() } : {}) },
      );
  }

  reservationCount(tenantId: string, manager: EntityManager = this.db.manager): Promise<number> {
    return manager.getRepository(QuotaReservationEntity).countBy({ tenantId });
  }

  async reservationCounts(tenantIds: string[]): Promise<Map<string, number>> {
    if (tenantIds.length === 0) return new Map();
    const rows = (await this.db.query(
      `SELECT tenant_id, count(*)::int AS used FROM quota_reservations WHERE tenant_id = ANY($1) GROUP BY tenant_id`,
      [tenantIds],
    )) as { tenant_id: string; used: number }[];
    return new Map(rows.map((r) => [r.tenant_id, r.used]));
  }

  /**
   * Takes one instance slot, atomically: the tenant row is locked, so two concurrent reservations on the
   * last free slot are serialised and the second sees the first. Idempotent per instance id.
   */
  reserve(
    tenantId: string,
    instanceId: string,
    limitOf: (tenant: TenantEntity) => number,
  ): Promise<ReservationOutcome> {
    return this.db.transaction(async (tx) => {
      const tenant = await tx
        .getRepository(TenantEntity)
        .createQueryBuilder('t')
        .setLock('pessimistic_write')
        .where('t.id = :tenantId', { tenantId })
        .getOne();
      if (!tenant || tenant.status !== 'active')
        return { kind: 'tenant_unavailable', status: tenant?.status ?? 'missing' };
      const existing = await tx.getRepository(QuotaReservationEntity).findOneBy({ instanceId });
      const used = await this.reservationCount(tenantId, tx);
      if (existing) {
        if (existing.tenantId !== tenantId) return { kind: 'tenant_unavailable', status: 'missing' };
        return { kind: 'already_reserved', used };
      }
      if (used >= limitOf(tenant)) return { kind: 'quota_exceeded', used };
      await tx.getRepository(QuotaReservationEntity).insert({ tenantId, instanceId });
      return { kind: 'reserved', used: used + 1 };
    });
  }

  async release(tenantId: string, instanceId: string): Promise<void> {
    await this.db.getRepository(QuotaReservationEntity).delete({ tenantId, instanceId });
  }

  // ---- members ----

  listMembers(tenantId: string): Promise<TenantMemberEntity[]> {
    return this.db
      .getRepository(TenantMemberEntity)
      .find({ where: { tenantId }, order: { createdAt: 'ASC' } });
  }

  findMember(tenantId: string, userId: string): Promise<TenantMemberEntity | null> {
    return this.db.getRepository(TenantMemberEntity).findOneBy({ tenantId, userId });
  }

  async addMember(
    tenantId: string,
    user: { id: string; email: string },
    role: 'admin' | 'viewer',
  ): Promise<TenantMemberEntity> {
    try {
      await this.db
        .getRepository(TenantMemberEntity)
        .insert({ tenantId, userId: user.id, email: user.email, role });
    } catch (error) {
      if (isUniqueViolation(error))
        throw new ConflictError('ALREADY_MEMBER', `${user.email} is already a member of this tenant`);
      throw error;
    }
    return (await this.findMember(tenantId, user.id)) as TenantMemberEntity;
  }

  async setMemberRole(tenantId: string, userId: string, role: 'admin' | 'viewer'): Promise<void> {
    await this.db.getRepository(TenantMemberEntity).update({ tenantId, userId }, { role });
  }

  async removeMember(tenantId: string, userId: string): Promise<void> {
    await this.db.getRepository(TenantMemberEntity).delete({ tenantId, userId });
  }

  /** The old owner becomes an admin, the new one owner, and the tenant's owner_id follows, in one go. */
  async transferOwnership(tenantId: string, fromUserId: string, toUserId: string): Promise<void> {
    await this.db.transaction(async (tx) => {
      await tx.query(`UPDATE tenant_members SET role = 'admin' WHERE tenant_id = $1 AND user_id = $2`, [
        tenantId,
        fromUserId,
      ]);
      await tx.query(`UPDATE tenant_members SET role = 'owner' WHERE tenant_id = $1 AND user_id = $2`, [
        tenantId,
        toUserId,
      ]);
      await tx.query(`UPDATE tenants SET owner_id = $2, updated_at = now() WHERE id = $1`, [
        tenantId,
        toUserId,
      ]);
    });
  }

  /** Live tenants a user belongs to, with their role (for /auth/me and stats). */
  async membershipsOf(userId: string): Promise<TenantWithRole[]> {
    return (await this.listForUser(userId, 1, 1000)).items;
  }
}
