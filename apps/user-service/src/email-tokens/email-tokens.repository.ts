import { Injectable } from '@nestjs/common';
import { DataSource, IsNull, Repository } from 'typeorm';
import { EmailTokenEntity, EmailTokenPurpose } from './email-token.entity';

@Injectable()
export class EmailTokensRepository {
  private readonly tokens: Repository<EmailTokenEntity>;

  constructor(private readonly dataSource: DataSource) {
    this.tokens = dataSource.getRepository(EmailTokenEntity);
  }

  async insert(token: EmailTokenEntity): Promise<void> {
    await this.tokens.insert(token);
  }

  /** Marks an unused, unexpired token used and returns its user; null for anything else. Atomic. */
  async consume(tokenHash: string, purpose: EmailTokenPurpose, now: Date): Promise<string | null> {
    const result = (await this.dataSource.query(
      `UPDATE email_tokens SET used_at = $3
        WHERE token_hash = $1 AND purpose = $2 AND used_at IS NULL AND expires_at > $3
        RETURNING user_id`,
      [tokenHash, purpose, now],
    )) as [{ user_id: string }[], number];
    return result[0][0]?.user_id ?? null;
  }

  /** Makes every outstanding token of that purpose unusable (after a reset, the other links die). */
  async invalidateAll(userId: string, purpose: EmailTokenPurpose, now: Date): Promise<void> {
    await this.tokens.update({ userId, purpose, usedAt: IsNull() }, { usedAt: now });
  }
}
