import { Injectable } from '@nestjs/common';
import { DataSource, IsNull, Repository } from 'typeorm';
import { RefreshTokenEntity, SessionEntity } from './session.entity';

export type RotationResult =
  | { outcome: 'rotated'; session: SessionEntity }
  | { outcome: 'unknown' }
  | { outcome: 'reused'; session: SessionEntity }
  | { outcome: 'ended'; session: SessionEntity };

@Injectable()
export class SessionsRepository {
  private readonly sessions: Repository<SessionEntity>;

  constructor(private readonly dataSource: DataSource) {
    this.sessions = dataSource.getRepository(SessionEntity);
  }

  findById(id: string): Promise<SessionEntity | null> {
    return this.sessions.findOneBy({ id });
  }

  async findByRefreshTokenHash(tokenHash: string): Promise<SessionEntity | null> {
    const token = await this.dataSource.getRepository(RefreshTokenEntity).findOneBy({ tokenHash });
    return token ? this.sessions.findOneBy({ id: token.sessionId }) : null;
  }

  async create(session: SessionEntity, refreshTokenHash: string): Promise<void> {
    await this.dataSource.transaction(async (em) => {
      await em.insert(SessionEntity, session);
      await em.insert(RefreshTokenEntity, {
        tokenHash: refreshTokenHash,
        sessionId: session.id,
        createdAt: session.createdAt,
        rotatedAt: null,
      });
    });
  }

  /**
   * Exchanges a refresh token for a new one, atomically: the presented token is locked, and only an
   * unrotated token of a live session is accepted. A token that was already rotated is reported as reused
   * (the caller then revokes the session). `whileLocked` runs after the rotation, before the commit, with the
   * session row still locked: a revocation (an UPDATE of that row) waits until it is done, so anything it
   * writes elsewhere cannot land after the revocation's own clean-up.
   */
  async rotate(
    presentedHash: string,
    nextHash: string,
    now: Date,
    whileLocked: (session: SessionEntity) => Promise<void>,
  ): Promise<RotationResult> {
    return this.dataSource.transaction(async (em) => {
      const token = await em
        .getRepository(RefreshTokenEntity)
        .createQueryBuilder('t')
        .setLock('pessimistic_write')
        .where('t.token_hash = :hash', { hash: presentedHash })
        .getOne();
      if (!token) return { outcome: 'unknown' } as const;
      const session = await em
        .getRepository(SessionEntity)
        .createQueryBuilder('s')
        .setLock('pessimistic_write')
        .where('s.id = :id', { id: token.sessionId })
        .getOneOrFail();
      if (token.rotatedAt) return { outcome: 'reused', session } as const;
      if (session.revokedAt || session.expiresAt <= now) return { outcome: 'ended', session } as const;
      await em.update(RefreshTokenEntity, { tokenHash: presentedHash }, { rotatedAt: now });
      await em.insert(RefreshTokenEntity, {
        tokenHash: nextHash,
        sessionId: session.id,
        createdAt: now,
        rotatedAt: null,
      });
      await em.update(SessionEntity, { id: session.id }, { lastRefreshedAt: now });
      const rotated = { ...session, lastRefreshedAt: now };
      await whileLocked(rotated);
      return { outcome: 'rotated', session: rotated } as const;
    });
  }

  async setProviderRefreshToken(id: string, providerRefreshToken: string): Promise<void> {
    await this.sessions.update({ id, revokedAt: IsNull() }, { providerRefreshToken });
  }

  /** Marks the session revoked; false when it already was. */
  async revoke(id: string, reason: string, now: Date): Promise<boolean> {
    const result = await this.sessions.update(
      { id, revokedAt: IsNull() },
      { revokedAt: now, revokedReason: reason, providerRefreshToken: null },
    );
    return (result.affected ?? 0) > 0;
  }

  /** Revokes every live session of the user (but `exceptId`); returns the ids revoked. */
  async revokeAllForUser(userId: string, reason: string, now: Date, exceptId?: string): Promise<string[]> {
    const rows = (await this.dataSource.query(
      `UPDATE sessions SET revoked_at = $2, revoked_reason = $3, provider_refresh_token = NULL
        WHERE user_id = $1 AND revoked_at IS NULL AND ($4::uuid IS NULL OR id <> $4::uuid)
        RETURNING id`,
      [userId, now, reason, exceptId ?? null],
    )) as [{ id: string }[], number];
    return rows[0].map((r) => r.id);
  }
}
