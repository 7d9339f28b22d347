import { Injectable } from '@nestjs/common';
import { isEmail } from 'class-validator';
import { Clock } from '../common/clock';
import { RandomSource } from '../common/random';
import { PasswordHasher } from '../security/password-hasher';
import { passwordPolicyProblems } from '../security/password-policy';
import { UserEntity } from '../users/user.entity';
import { UsersRepository } from '../users/users.repository';

export interface CreateAdminOptions {
  /** Taken when given (it must satisfy the password policy); otherwise one is generated and returned. */
  password?: string;
  firstName?: string;
  lastName?: string;
}

export interface CreateAdminResult {
  id: string;
  email: string;
  /** false when the account existed and was promoted. */
  created: boolean;
  /** The generated password, returned once; absent when the caller chose it or the account existed. */
  generated_password?: string;
}

export class AdminCommandError extends Error {}

/** Admins are made by the operator (CLI), never through the API. */
@Injectable()
export class AdminAccountsService {
  constructor(
    private readonly users: UsersRepository,
    private readonly hasher: PasswordHasher,
    private readonly clock: Clock,
    private readonly random: RandomSource,
  ) {}

  /**
   * The first admin of a new installation (start:local): created with a generated password when no account
   * has this email; an existing admin is left exactly as it is; any other account is refused, never promoted.
   */
  async ensureAdmin(rawEmail: string): Promise<CreateAdminResult> {
    const existing = await this.users.findByEmail(rawEmail.trim().toLowerCase());
    if (!existing) return this.createAdmin(rawEmail);
    if (existing.role !== 'admin') {
      throw new AdminCommandError(
        `${existing.email} is a customer account; make it an admin with create-admin, or choose another ADMIN_EMAIL`,
      );
    }
    return { id: existing.id, email: existing.email, created: false };
  }

  /** Creates a verified admin account, or promotes (and verifies) the existing account with that email. */
  async createAdmin(rawEmail: string, options: CreateAdminOptions = {}): Promise<CreateAdminResult> {
    const email = rawEmail.trim().toLowerCase();
    if (!isEmail(email) || email.length > 254)
      throw new AdminCommandError(`not an email address: ${rawEmail}`);
    if (options.password !== undefined) {
      const problems = passwordPolicyProblems(options.password);
      if (problems.length) throw new AdminCommandError(`password ${problems.join(', ')}`);
    }
    const now = this.clock.now();
    const existing = await this.users.findByEmail(email);
    if (existing) {
      await this.users.setRole(existing.id, 'admin', now);
      await this.users.markVerified(existing.id, now);
      if (options.password !== undefined) {
        await this.users.setPasswordHash(existing.id, await this.hasher.hash(options.password), now);
      }
      return { id: existing.id, email, created: false };
    }
    const generated = options.password === undefined ? `${this.random.token(18)}aA1!` : undefined;
    const password = options.password ?? generated!;
    const user = Object.assign(new UserEntity(), {
      id: this.random.uuid(),
      email,
      passwordHash: await this.hasher.hash(password),
      firstName: options.firstName ?? 'Platform',
      lastName: options.lastName ?? 'Admin',
      phone: null,
      company: null,
      country: null,
      timezone: null,
      language: null,
      role: 'admin',
      isActive: true,
      isVerified: true,
      emailVerifiedAt: now,
      supabaseUserId: null,
      marketingConsent: false,
      termsAcceptedAt: null,
      deactivatedAt: null,
      createdAt: now,
      updatedAt: now,
    } satisfies UserEntity);
    if (!(await this.users.insert(user)))
      throw new AdminCommandError(`${email} was created concurrently, run again`);
    return { id: user.id, email, created: true, ...(generated ? { generated_password: generated } : {}) };
  }
}
