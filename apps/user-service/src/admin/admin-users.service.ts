import { HttpStatus, Injectable } from '@nestjs/common';
import type { AuthenticatedUser } from '@app/auth';
import { DomainError, NotFoundError } from '@app/http';
import { Clock } from '../common/clock';
import { SessionService } from '../sessions/session.service';
import { AdminUserView, adminUserView } from '../users/user.views';
import { UsersRepository } from '../users/users.repository';
import { ListUsersQueryDto, UserPage } from './admin-users.dto';

@Injectable()
export class AdminUsersService {
  constructor(
    private readonly users: UsersRepository,
    private readonly sessions: SessionService,
    private readonly clock: Clock,
  ) {}

  async list(query: ListUsersQueryDto): Promise<UserPage> {
    const { items, total } = await this.users.search({
      page: query.page,
      pageSize: query.page_size,
      search: query.search?.trim() || undefined,
      role: query.role,
      isActive: query.is_active,
    });
    return { items: items.map(adminUserView), total, page: query.page, page_size: query.page_size };
  }

  /** Deactivates the account and ends its sessions at once. Idempotent. */
  async deactivate(admin: AuthenticatedUser, id: string): Promise<AdminUserView> {
    if (id === admin.id) {
      throw new DomainError(
        HttpStatus.CONFLICT,
        'CANNOT_DEACTIVATE_SELF',
        'Admins cannot deactivate themselves',
      );
    }
    const user = await this.users.findById(id);
    if (!user) throw new NotFoundError('User', 'USER_NOT_FOUND');
    await this.users.deactivate(id, this.clock.now());
    await this.sessions.revokeAllForUser(id, 'deactivated_by_admin');
    const updated = await this.users.findById(id);
    return adminUserView(updated ?? user);
  }
}
