import { Inject, Injectable } from '@nestjs/common';
import { argon2id, hash, needsRehash, verify } from 'argon2';
import { randomBytes } from 'node:crypto';
import { APP_CONFIG } from '@app/config';
import type { PasswordHashConfig } from '../config/env';

/** argon2id with the configured cost. */
@Injectable()
export class PasswordHasher {
  private readonly options;
  private dummy?: Promise<string>;

  constructor(@Inject(APP_CONFIG) config: PasswordHashConfig) {
    this.options = {
      type: argon2id,
      memoryCost: config.ARGON2_MEMORY_KIB,
      timeCost: config.ARGON2_TIME_COST,
      parallelism: config.ARGON2_PARALLELISM,
    } as const;
  }

  hash(password: string): Promise<string> {
    return hash(password, this.options);
  }

  async verify(passwordHash: string, password: string): Promise<boolean> {
    try {
      return await verify(passwordHash, password);
    } catch {
      return false;
    }
  }

  /**
   * Spends the same time as a real verification and always fails: used when the email is unknown, so
   * the answer's timing does not tell whether an account exists.
   */
  async verifyNothing(password: string): Promise<false> {
    this.dummy ??= hash(randomBytes(16).toString('hex'), this.options);
    await verify(await this.dummy, password);
    return false;
  }

  needsRehash(passwordHash: string): boolean {
    try {
      return needsRehash(passwordHash, this.options);
    } catch {
      return true;
    }
  }
}
