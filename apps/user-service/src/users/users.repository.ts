import { Injectable } from '@nestjs/common';
import { DataSource, QueryFailedError, Repository } from 'typeorm';
import type { UserRole } from '@app/auth';
import { UserEntity } from './user.entity';

export type ProfilePatch = Partial<
  Pick<
    UserEntity,
    'firstName' | 'lastName' | 'phone' | 'company' | 'country' | 'timezone' | 'language' | 'marketingConsent'
  >
>;

export interface UserSearch {
  page: number;
  pageSize: number;
  search?: string;
  role?: UserRole;
  isActive?: boolean;
}

function isUniqueViolation(error: unknown): boolean {
  return error instanceof QueryFailedError && (error.driverError as { code?: string }).code === '23505';
}

@Injectable()
export class UsersRepository {
  private readonly users: Repository<UserEntity>;

  constructor(dataSource: DataSource) {
    this.users = dataSource.getRepository(UserEntity);
  }

  findById(id: string): Promise<UserEntity | null> {
    return this.users.findOneBy({ id });
  }

  findByEmail(email: string): Promise<UserEntity | null> {
    return this.users.findOneBy({ email });
  }

  findBySupabaseId(supabaseUserId: string): Promise<UserEntity | null> {
    return this.users.findOneBy({ supabaseUserId });
  }

  /** Inserts the user; false when the email (or Supabase id) is already taken. */
  async insert(user: UserEntity): Promise<boolean> {
    try {
      await this.users.insert(user);
      return true;
    } catch (error) {
      if (isUniqueViolation(error)) return false;
      throw error;
    }
  }

  async updateProfile(id: string, patch: ProfilePatch, now: Date): Promise<void> {
    await this.users.update({ id }, { ...patch, updatedAt: now });
  }

  async setPasswordHash(id: string, passwordHash: string, now: Date): Promise<void> {
    await this.users.update({ id }, { passwordHash, updatedAt: now });
  }

  async markVerified(id: string, now: Date): Promise<void> {
    await this.users
      .createQueryBuilder()
      .update()
      .set({ isVerified: true, emailVerifiedAt: () => 'COALESCE(email_verified_at, :now)', updatedAt: now })
      .setParameter('now', now)
      .where('id = :id', { id })
      .execute();
  }

  /** Deactivates the user; false when there is no such active user. */
  async deactivate(id: string, now: Date): Promise<boolean> {
    const result = await this.users.update(
      { id, isActive: true },
      { isActive: false, deactivatedAt: now, updatedAt: now },
    );
    return (result.affected ?? 0) > 0;
  }

  async setRole(id: string, role: UserRole, now: Date): Promise<void> {
    await this.users.update({ id }, { role, updatedAt: now });
  }

  async search(query: UserSearch): Promise<{ items: UserEntity[]; total: number }> {
    const qb = this.users.createQueryBuilder('u');
    if (query.search) {
      const pattern = `%${query.search.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
      qb.andWhere(
        `(u.email ILIKE :pattern OR u.first_name ILIKE :pattern OR u.last_name ILIKE :pattern OR (u.first_name || ' ' || u.last_name) ILIKE :pattern)`,
        { pattern },
      );
    }
    if (query.role) qb.andWhere('u.role = :role', { role: query.role });
    if (query.isActive !== undefined) qb.andWhere('u.is_active = :active', { active: query.isActive });
    const [items, total] = await qb
      .orderBy('u.created_at', 'DESC')
      .addOrderBy('u.id', 'ASC')
      .skip((query.page - 1) * query.pageSize)
      .take(query.pageSize)
      .getManyAndCount();
    return { items, total };
  }
}
