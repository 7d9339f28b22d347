import { execFileSync } from 'node:child_process';
import { Client } from 'pg';

/**
 * Runs SQL as the cluster admin, for test set-up only (creating rogue roles for the guard tests, etc.).
 * Uses POSTGRES_USER/POSTGRES_PASSWORD when given, else the local postgres OS user (Debian, as root).
 */
export async function adminSql(sql: string, database = 'postgres'): Promise<void> {
  if (process.env.POSTGRES_PASSWORD) {
    const client = new Client({
      host: process.env.POSTGRES_HOST ?? '127.0.0.1',
      port: Number(process.env.POSTGRES_PORT ?? 5432),
      user: process.env.POSTGRES_USER ?? 'postgres',
      password: process.env.POSTGRES_PASSWORD,
      database,
    });
    await client.connect();
    try {
      await client.query(sql);
    } finally {
      await client.end();
    }
    return;
  }
  execFileSync(
    'runuser',
    [
      '-u',
      'postgres',
      '--',
      'psql',
      '-X',
      '-q',
      '-v',
      'ON_ERROR_STOP=1',
      '-p',
      process.env.POSTGRES_PORT ?? '5432',
      '-d',
      database,
    ],
    { input: sql, stdio: ['pipe', 'ignore', 'pipe'] },
  );
}

/** The rows of a query run like `adminSql` (as the superuser), e.g. to inspect what a test left behind. */
export async function adminQuery<T>(sql: string, database = 'postgres'): Promise<T[]> {
  if (process.env.POSTGRES_PASSWORD) {
    const client = new Client({
      host: process.env.POSTGRES_HOST ?? '127.0.0.1',
      port: Number(process.env.POSTGRES_PORT ?? 5432),
      user: process.env.POSTGRES_USER ?? 'postgres',
      password: process.env.POSTGRES_PASSWORD,
      database,
    });
    await client.connect();
    try {
      return (await client.query(sql)).rows as T[];
    } finally {
      await client.end();
    }
  }
  const output = execFileSync(
    'runuser',
    [
      '-u',
      'postgres',
      '--',
      'psql',
      '-X',
      '-A',
      '-t',
      '-v',
      'ON_ERROR_STOP=1',
      '-p',
      process.env.POSTGRES_PORT ?? '5432',
      '-d',
      database,
    ],
    { input: `SELECT coalesce(json_agg(t), '[]'::json) FROM (${sql}) t`, stdio: ['pipe', 'pipe', 'pipe'] },
  );
  return JSON.parse(output.toString('utf8')) as T[];
}
