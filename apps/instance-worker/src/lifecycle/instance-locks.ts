import { Inject, Injectable, Logger, OnApplicationShutdown } from '@nestjs/common';
import { Pool, type PoolClient } from 'pg';
import { APP_CONFIG } from '@app/config';
import { assertServiceCredentials, logPoolErrors } from '@app/database';
import { JobDeferral } from '@app/queue';
import type { Config } from '../config/env';

export interface InstanceLock {
  /**
   * Resolves while the lock is still ours. A session advisory lock dies with its connection (a database
   * restart ends every session while the job goes on): then it is taken again on a new connection, and if
   * someone else took it meanwhile, this throws LockLostError: the job must not write as if it were alone.
   */
  ensureHeld(): Promise<void>;
  release(): Promise<void>;
}

/**
 * The instance lock's session ended and another job or sweep holds the lock now: the job stops before its
 * next write and is put back (a deferral, not a failure: every step is idempotent, it resumes later).
 */
export class LockLostError extends JobDeferral {
  constructor(namespace: string, key: string) {
    super(
      1000 + Math.floor(Math.random() * 1000),
      `the ${namespace} lock on ${key} was lost with its database session and is held elsewhere now`,
    );
    this.name = 'LockLostError';
  }
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
    let client: PoolClient | null = await this.take(namespace, key);
    if (!client) return null;
    let released = false;
    let lost = false;
    const onLoss = (): void => {
      lost = true;
    };
    /** The connection goes back to the pool (or away) without this lock's listeners. */
    const letGo = (held: PoolClient, destroy: boolean): void => {
      held.off('error', onLoss);
      held.off('end', onLoss);
      held.release(destroy);
    };
    const watch = (held: PoolClient): void => {
      held.on('error', onLoss);
      held.on('end', onLoss);
    };
    watch(client);
    return {
      ensureHeld: async () => {
        if (released) throw new LockLostError(namespace, key);
        if (!lost) return;
        if (client) letGo(client, true);
        client = null;
        const again = await this.take(namespace, key);
        if (!again) {
          released = true;
          throw new LockLostError(namespace, key);
        }
        this.logger.warn(`${namespace} lock on ${key}: its session ended; taken again`);
        client = again;
        lost = false;
        watch(again);
      },
      release: async () => {
        if (released || !client) return;
        released = true;
        const held = client;
        client = null;
        if (lost) return letGo(held, true);
        try {
          await held.query(`SELECT pg_advisory_unlock(hashtext($1), hashtext($2))`, [namespace, key]);
          letGo(held, false);
        } catch {
          // Dropping the connection releases the lock too.
          letGo(held, true);
        }
      },
    };
  }

  /**
   * A connection holding the session lock, or null when someone else holds it. A pooled connection a
   * database restart ended fails its first query: it is dropped and the lock asked for once more on a new one.
   */
  private async take(namespace: string, key: string, retries = 1): Promise<PoolClient | null> {
    const client: PoolClient = await this.pool.connect();
    try {
      const { rows } = await client.query<{ locked: boolean }>(
        `SELECT pg_try_advisory_lock(hashtext($1), hashtext($2)) AS locked`,
        [namespace, key],
      );
      if (rows[0]?.locked) return client;
      client.release();
      return null;
    } catch (error) {
      client.release(true);
      if (retries > 0) return this.take(namespace, key, retries - 1);
      throw error;
    }
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
