import { Injectable } from '@nestjs/common';
import { Clock } from '../common/clock';
import { hashToken, RandomSource } from '../common/random';
import { EmailTokenEntity, EmailTokenPurpose } from './email-token.entity';
import { EmailTokensRepository } from './email-tokens.repository';

/** Single-use secrets sent in email links (verification, password reset). Only their hash is stored. */
@Injectable()
export class EmailTokenService {
  constructor(
    private readonly repository: EmailTokensRepository,
    private readonly clock: Clock,
    private readonly random: RandomSource,
  ) {}

  async issue(userId: string, purpose: EmailTokenPurpose, ttlSeconds: number): Promise<string> {
    const token = this.random.token();
    const now = this.clock.now();
    await this.repository.insert(
      Object.assign(new EmailTokenEntity(), {
        tokenHash: hashToken(token),
        userId,
        purpose,
        createdAt: now,
        expiresAt: new Date(now.getTime() + ttlSeconds * 1000),
        usedAt: null,
      }),
    );
    return token;
  }

  /** The user the token belongs to, once: a used, expired or unknown token gives null. */
  consume(token: string, purpose: EmailTokenPurpose): Promise<string | null> {
    return this.repository.consume(hashToken(token), purpose, this.clock.now());
  }

  invalidateAll(userId: string, purpose: EmailTokenPurpose): Promise<void> {
    return this.repository.invalidateAll(userId, purpose, this.clock.now());
  }
}
