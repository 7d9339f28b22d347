import { HttpStatus, Injectable } from '@nestjs/common';
import { DomainError } from '@app/http';
import { SupabaseAuthGateway } from '../supabase/supabase-auth.gateway';
import type { UserEntity } from '../users/user.entity';
import { LoginLockout } from './login-lockout';
import { PasswordHasher } from './password-hasher';

export class PasswordIncorrectError extends DomainError {
  constructor() {
    super(HttpStatus.FORBIDDEN, 'PASSWORD_INCORRECT', 'The password is incorrect');
  }
}

/**
 * A signed-in user proves it is really them before something irreversible (account deletion): the password
 * is checked where it lives (argon2 hash here, or Supabase), wrong attempts count towards the login lockout.
 */
@Injectable()
export class PasswordConfirmation {
  constructor(
    private readonly hasher: PasswordHasher,
    private readonly supabase: SupabaseAuthGateway,
    private readonly lockout: LoginLockout,
  ) {}

  async confirm(user: UserEntity, password: string): Promise<void> {
    await this.lockout.assertNotLocked(user.email);
    let accepted = false;
    if (user.supabaseUserId && this.supabase.enabled) {
      accepted = (await this.supabase.signIn(user.email, password)).outcome === 'ok';
    } else if (user.passwordHash) {
      accepted = await this.hasher.verify(user.passwordHash, password);
    }
    if (!accepted) {
      await this.lockout.recordFailure(user.email);
      throw new PasswordIncorrectError();
    }
  }
}
