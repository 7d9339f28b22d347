import { Injectable } from '@nestjs/common';
import { DataSource, EntityManager, IsNull, MoreThan, Not } from 'typeorm';
import { SigningKeyEntity } from './signing-key.entity';

@Injectable()
export class SigningKeysRepository {
  constructor(private readonly dataSource: DataSource) {}

  /** Runs `work` in a transaction holding the key-management lock, so replicas never create two keys. */
  withLock<T>(work: (keys: SigningKeysTransaction) => Promise<T>): Promise<T> {
    return this.dataSource.transaction(async (em) => {
      await em.query(`SELECT pg_advisory_xact_lock(hashtext('user-service:signing-keys'))`);
      return work(new SigningKeysTransaction(em));
    });
  }

  findActive(): Promise<SigningKeyEntity | null> {
    return this.dataSource.getRepository(SigningKeyEntity).findOneBy({ retiredAt: IsNull() });
  }

  /** The active key and the keys retired after `retiredAfter` (tokens they signed may still be valid). */
  findPublishable(retiredAfter: Date): Promise<SigningKeyEntity[]> {
    return this.dataSource.getRepository(SigningKeyEntity).find({
      where: [{ retiredAt: IsNull() }, { retiredAt: MoreThan(retiredAfter) }],
      order: { createdAt: 'DESC' },
    });
  }
}

export class SigningKeysTransaction {
  constructor(private readonly em: EntityManager) {}

  findActive(): Promise<SigningKeyEntity | null> {
    return this.em.findOneBy(SigningKeyEntity, { retiredAt: IsNull() });
  }

  async retire(kid: string, now: Date): Promise<void> {
    await this.em.update(SigningKeyEntity, { kid }, { retiredAt: now });
  }

  async insert(key: SigningKeyEntity): Promise<void> {
    await this.em.insert(SigningKeyEntity, key);
  }

  /** Rows whose private key is still in plaintext (from before sealing). */
  findUnsealed(): Promise<SigningKeyEntity[]> {
    return this.em.findBy(SigningKeyEntity, { privateJwk: Not(IsNull()) });
  }

  async seal(kid: string, sealed: string): Promise<void> {
    await this.em.update(SigningKeyEntity, { kid }, { privateJwk: null, privateJwkEnc: sealed });
  }
}
