import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { Client } from 'pg';
import { loadConfig } from '@app/config';
import { JobDeferral } from '@app/queue';
import { adminQuery, waitFor } from '@app/testing';
import { envSchema } from '../src/config/env';
import { InstanceLocks, LockLostError, type InstanceLock } from '../src/lifecycle/instance-locks';
import { isDependencyUnreachable } from '../src/lifecycle/unreachable';
import { LifecycleTestKit } from './support/worker-harness';

/**
 * The instance lock is a Postgres session advisory lock: a database restart ends the session (and the lock)
 * while the job that held it goes on. Seen in `npm run chaos`: after a Postgres restart, other jobs and sweeps
 * could take the lock of an instance whose job was still running. The lock now notices, takes itself again
 * when it can, and otherwise stops the job (a deferral) before its next write.
 */
describe('instance locks across a lost database session', () => {
  const kit = new LifecycleTestKit();
  let locks: InstanceLocks;
  let others: InstanceLocks;
  let config: ReturnType<typeof loadConfig<typeof envSchema>>;
  const held: InstanceLock[] = [];

  beforeAll(async () => {
    await kit.ensureDatabase();
    config = loadConfig(envSchema, { ...process.env, ...kit.env });
    locks = new InstanceLocks(config);
    others = new InstanceLocks(config);
  });
  afterAll(async () => {
    for (const lock of held) await lock.release().catch(() => undefined);
    await locks?.onApplicationShutdown();
    await others?.onApplicationShutdown();
    await kit.cleanup();
  });

  /** Ends every session of the lock pools on the kit's database, as a Postgres restart does. */
  async function endLockSessions(): Promise<number> {
    const ended = await adminQuery<{ pid: number }>(
      // Materialized first: in one WHERE, the planner may call pg_terminate_backend before the other tests.
      `WITH lockers AS MATERIALIZED (
         SELECT pid FROM pg_stat_activity
          WHERE datname = '${kit.database}' AND application_name = 'instance-worker:locks')
       SELECT pid FROM lockers WHERE pg_terminate_backend(pid)`,
    );
    return ended.length;
  }

  async function advisoryHolders(): Promise<number> {
    const [row] = await adminQuery<{ n: number }>(
      `SELECT count(*)::int AS n FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
        WHERE l.locktype = 'advisory' AND a.datname = '${kit.database}'`,
    );
    return row?.n ?? 0;
  }

  it('takes the lock again when its session ended and nobody else took it', async () => {
    const id = randomUUID();
    const lock = await locks.tryAcquire(id);
    expect(lock).not.toBeNull();
    held.push(lock as InstanceLock);
    expect(await others.tryAcquire(id)).toBeNull();

    expect(await endLockSessions()).toBeGreaterThan(0);
    await waitFor('the lock freed by the ended session', async () => (await advisoryHolders()) === 0, 10_000);
    await sleep(200); // the client hears of the ended connection

    await expect(lock?.ensureHeld()).resolves.toBeUndefined();
    expect(await advisoryHolders()).toBe(1);
    expect(await others.tryAcquire(id)).toBeNull();
    await lock?.release();
    expect(await advisoryHolders()).toBe(0);
  });

  it('stops the job (a deferral) when another holder took the lock meanwhile', async () => {
    const id = randomUUID();
    const lock = await locks.tryAcquire(id);
    expect(lock).not.toBeNull();
    held.push(lock as InstanceLock);

    await endLockSessions();
    await waitFor('the lock freed by the ended session', async () => (await advisoryHolders()) === 0, 10_000);
    const other = await others.tryAcquire(id);
    expect(other).not.toBeNull();
    held.push(other as InstanceLock);
    await sleep(200);

    const error = await lock?.ensureHeld().then(
      () => null,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(LockLostError);
    expect(error).toBeInstanceOf(JobDeferral);
    // The other holder keeps it; releasing the lost one changes nothing.
    await lock?.release();
    expect(await locks.tryAcquire(id)).toBeNull();
    await other?.release();
    expect(await advisoryHolders()).toBe(0);
  });

  it('counts a session the database ended (as a restart does) as the database being away, not a job failure', async () => {
    const client = new Client({
      host: config.POSTGRES_HOST,
      port: config.POSTGRES_PORT,
      database: kit.database,
      user: config.DB_SERVICE_USER,
      password: config.DB_SERVICE_PASSWORD,
    });
    client.on('error', () => undefined);
    await client.connect();
    const error = await client.query(`SELECT pg_terminate_backend(pg_backend_pid())`).then(
      () => null,
      (e: unknown) => e,
    );
    await client.end().catch(() => undefined);
    expect((error as { code?: string }).code).toBe('57P01');
    expect(isDependencyUnreachable(error)).toBe(true);
  });

  it('leaves a healthy lock alone: ensureHeld is a no-op, and it is taken and released again and again', async () => {
    const id = randomUUID();
    for (let i = 0; i < 15; i++) {
      const lock = await locks.tryAcquire(id);
      expect(lock).not.toBeNull();
      await lock?.ensureHeld();
      expect(await others.tryAcquire(id)).toBeNull();
      await lock?.release();
    }
    expect(await advisoryHolders()).toBe(0);
  });
});
