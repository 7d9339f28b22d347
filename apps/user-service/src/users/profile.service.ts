import { Injectable } from '@nestjs/common';
import type { CustomerInstance } from '@app/contracts';
import { ConflictError, NotFoundError } from '@app/http';
import type { AuthenticatedUser } from '@app/auth';
import { Clock } from '../common/clock';
import { PasswordConfirmation } from '../security/password-confirmation';
import { SessionService } from '../sessions/session.service';
import { CustomerInstancesClient } from './customer-instances.client';
import { UpdateProfileDto } from './profile.dto';
import { AccountDeleted } from './account-deleted.view';
import { ProfileView, profileView } from './user.views';
import { ProfilePatch, UsersRepository } from './users.repository';
import { UserEntity } from './user.entity';

@Injectable()
export class ProfileService {
  constructor(
    private readonly users: UsersRepository,
    private readonly sessions: SessionService,
    private readonly clock: Clock,
    private readonly password: PasswordConfirmation,
    private readonly customerInstances: CustomerInstancesClient,
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

  /**
   * Deactivates the account (data kept) and ends every session, once the password is proven. Live instances
   * of the customer's tenants make it a 409 listing them, unless `terminateInstances` asks to terminate them
   * first (through instance-service); instance-service not answering is a 503 and nothing changes.
   */
  async deactivateOwnAccount(
    caller: AuthenticatedUser,
    input: { password: string; terminateInstances: boolean; requestId: string },
  ): Promise<AccountDeleted> {
    const user = await this.load(caller.id);
    await this.password.confirm(user, input.password);
    let terminated: CustomerInstance[] = [];
    if (input.terminateInstances) {
      terminated = await this.customerInstances.terminateAll(caller.id, 'account deleted', input.requestId);
    } else {
      const live = await this.customerInstances.live(caller.id, input.requestId);
      if (live.length > 0) throw new InstancesStillLiveError(live);
    }
    await this.users.deactivate(caller.id, this.clock.now());
    await this.sessions.revokeAllForUser(caller.id, 'account_deleted');
    return {
      success: true as const,
      message: 'Account deactivated and every session logged out',
      terminated_instances: terminated.map((instance) => instance.id),
    };
  }
}

export class InstancesStillLiveError extends ConflictError {
  constructor(instances: CustomerInstance[]) {
    super(
      'INSTANCES_STILL_LIVE',
      `The account still has ${instances.length} live instance(s): terminate them, or delete with ` +
        'terminate_instances=true',
      instances,
    );
  }
}
