import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';

/** Postgres session advisory locks: mutual exclusion between replicas of the billing service. */
@Injectable()
export class AdvisoryLocks {
  constructor(private readonly dataSource: DataSource) {}

  /** Runs `task` while holding the lock named `name` (waits for it). */
  async withLock<T>(name: string, task: () => Promise<T>): Promise<T> {
    const runner = this.dataSource.createQueryRunner();
    await runner.connect();
    try {
      await runner.query('SELECT pg_advisory_lock(hashtext($1))', [name]);
      try {
        return await task();
      } finally {
        await runner.query('SELECT pg_advisory_unlock(hashtext($1))', [name]);
      }
    } finally {
      await runner.release();
    }
  }

  /** Runs `task` only if the lock is free right now; null otherwise. */
  async tryWithLock<T>(name: string, task: () => Promise<T>): Promise<T | null> {
    const runner = this.dataSource.createQueryRunner();
    await runner.connect();
    try {
      const [row] = (await runner.query('SELECT pg_try_advisory_lock(hashtext($1)) AS locked', [name])) as {
        locked: boolean;
      }[];
      if (!row?.locked) return null;
      try {
        return await task();
      } finally {
        await runner.query('SELECT pg_advisory_unlock(hashtext($1))', [name]);
      }
    } finally {
      await runner.release();
    }
  }
}
