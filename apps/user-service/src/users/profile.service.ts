import type { Acknowledgement } from '../auth/auth.views';
import { Injectable } from '@nestjs/common';
import { NotFoundError } from '@app/http';
import type { AuthenticatedUser } from '@app/auth';
import { Clock } from '../common/clock';
import { SessionService } from '../sessions/session.service';
import { UpdateProfileDto } from './profile.dto';
import { ProfileView, profileView } from './user.views';
import { ProfilePatch, UsersRepository } from './users.repository';
import { UserEntity } from './user.entity';

@Injectable()
export class ProfileService {
  constructor(
    private readonly users: UsersRepository,
    private readonly sessions: SessionService,
    private readonly clock: Clock,
  ) {}

  private async load(id: string): Promise<UserEntity> {
    const user = await this.users.findById(id);
    if (!user) throw new NotFoundError('Account', 'ACCOUNT_NOT_FOUND');
    return user;
  }

  async get(caller: AuthenticatedUser): Promise<ProfileView> {
    return profileView(await this.load(caller.id));
  }

  /** Persists every field sent (and only those). */
  async update(caller: AuthenticatedUser, dto: UpdateProfileDto): Promise<ProfileView> {
    const patch: ProfilePatch = {};
    if (dto.first_name !== undefined) patch.firstName = dto.first_name;
    if (dto.last_name !== undefined) patch.lastName = dto.last_name;
    if (dto.phone !== undefined) patch.phone = dto.phone;
    if (dto.company !== undefined) patch.company = dto.company;
    if (dto.country !== undefined) patch.country = dto.country;
    if (dto.timezone !== undefined) patch.timezone = dto.timezone;
    if (dto.language !== undefined) patch.language = dto.language;
    if (dto.marketing_consent !== undefined) patch.marketingConsent = dto.marketing_consent;
    if (Object.keys(patch).length > 0) await this.users.updateProfile(caller.id, patch, this.clock.now());
    return profileView(await this.load(caller.id));
  }

  /** Deactivates the account (data kept) and ends every session. */
  async deactivateOwnAccount(caller: AuthenticatedUser): Promise<Acknowledgement> {
    await this.users.deactivate(caller.id, this.clock.now());
    await this.sessions.revokeAllForUser(caller.id, 'account_deleted');
    return { success: true as const, message: 'Account deactivated and every session logged out' };
  }
}
