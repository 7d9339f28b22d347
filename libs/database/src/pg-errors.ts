import type { Client, Pool } from 'pg';

/**
 * A `pg` client emits 'error' when its server goes away (a Postgres restart ends every session with 57P01),
 * and an 'error' event without a listener kills the process. pg-pool listens only while a client is idle, so
 * a checked-out client (e.g. one holding a session advisory lock for a whole job) needs its own listener.
 * After this, such an error is logged; the broken client fails its next query and is dropped on release.
 */
export function logPoolErrors(pool: Pool, log: (message: string) => void, label: string): Pool {
  pool.on('error', (error) => log(`${label}: ${error.message}`));
  pool.on('connect', (client) => logClientErrors(client, log, label));
  return pool;
}

/** The same for a one-off `Client` (end it in `finally`). */
export function logClientErrors<C extends Pick<Client, 'on'>>(
  client: C,
  log: (message: string) => void,
  label: string,
): C {
  client.on('error', (error: Error) => log(`${label}: ${error.message}`));
  return client;
}
