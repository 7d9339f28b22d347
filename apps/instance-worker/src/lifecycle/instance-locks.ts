import { Inject, Injectable, Logger, OnApplicationShutdown } from '@nestjs/common';
import { Pool, type PoolClient } from 'pg';
import { APP_CONFIG } from '@app/config';
import { assertServiceCredentials, logPoolErrors } from '@app/database';
import type { Config } from '../config/env';

export interface InstanceLock {
  release(): Promise<void>;
}

/**
 * One lifecycle step per instance at a time, across every worker process: a Postgres session advisory lock
 * held on a dedicated connection for the whole job. A worker that dies loses its connection, and with it
 * the lock, at once.
 */
@Injectable()
export class InstanceLocks implements OnApplicationShutdown {
  private readonly logger = new Logger(InstanceLocks.name);
  private readonly pool: Pool;

  constructor(@Inject(APP_CONFIG) config: Config) {
    const { user, password } = assertServiceCredentials('instance-worker', config);
    this.pool = new Pool({
      host: config.POSTGRES_HOST,
      port: config.POSTGRES_PORT,
      database: config.POSTGRES_DB,
      user,
      password,
      // Every running job holds one connection for its instance lock; short locks need room besides.
      max: config.WORKER_CONCURRENCY * 2 + 4,
      connectionTimeoutMillis: config.DB_CONNECT_TIMEOUT_MS,
      idleTimeoutMillis: 60_000,
      application_name: 'instance-worker:locks',
    });
    logPoolErrors(this.pool, (m) => this.logger.warn(m), 'lock pool');
  }

  /** The lock, or null when another job (here or in another worker) holds it. */
  tryAcquire(instanceId: string): Promise<InstanceLock | null> {
    return this.tryLock('saasodoo.instance', instanceId);
  }

  /** A session lock on `key` in `namespace`, held until released; null when someone else holds it. */
  async tryLock(namespace: string, key: string): Promise<InstanceLock | null> {
    const client: PoolClient = await this.pool.connect();
    try {
      const { rows } = await client.query<{ locked: boolean }>(
        `SELECT pg_try_advisory_lock(hashtext($1), hashtext($2)) AS locked`,
        [namespace, key],
      );
      if (!rows[0]?.locked) {
        client.release();
        return null;
      }
    } catch (error) {
      client.release(true);
      throw error;
    }
    let released = false;
    return {
      release: async () => {
        if (released) return;
        released = true;
        try {
          await client.query(`SELECT pg_advisory_unlock(hashtext($1), hashtext($2))`, [namespace, key]);
          client.release();
        } catch {
          // Dropping the connection releases the lock too.
          client.release(true);
        }
      },
    };
  }

  /**
   * Runs `fn` holding a short, blocking lock on `key` in `namespace` (e.g. creating a tenant's network:
   * Docker itself happily creates two networks of the same name when asked twice at once).
   */
  async withLock<T>(namespace: string, key: string, fn: () => Promise<T>): Promise<T> {
    const client = await this.pool.connect();
    let healthy = true;
    try {
      await client.query(`SET statement_timeout = 60000`);
      await client.query(`SELECT pg_advisory_lock(hashtext($1), hashtext($2))`, [namespace, key]);
      try {
        return await fn();
      } finally {
        await client
          .query(`SELECT pg_advisory_unlock(hashtext($1), hashtext($2))`, [namespace, key])
          .catch(() => {
            healthy = false;
          });
      }
    } catch (error) {
      healthy = false;
      throw error;
    } finally {
      client.release(!healthy);
    }
  }

  async onApplicationShutdown(): Promise<void> {
    await this.pool.end();
  }
}
