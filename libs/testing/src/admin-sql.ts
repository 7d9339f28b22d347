import { execFileSync } from 'node:child_process';
import { Client } from 'pg';

/** As the cluster admin through POSTGRES_USER/POSTGRES_PASSWORD, when a password is given. */
async function withPasswordClient<T>(database: string, fn: (client: Client) => Promise<T>): Promise<T> {
  const client = new Client({
    host: process.env.POSTGRES_HOST ?? '127.0.0.1',
    port: Number(process.env.POSTGRES_PORT ?? 5432),
    user: process.env.POSTGRES_USER ?? 'postgres',
    password: process.env.POSTGRES_PASSWORD,
    database,
  });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

/** As the local postgres OS user (Debian, as root): psql with `input` on stdin, its stdout returned. */
function psqlAsPostgres(database: string, input: string, extraArgs: string[] = []): Buffer {
  return execFileSync(
    'runuser',
    [
      '-u',
      'postgres',
      '--',
      'psql',
      '-X',
      '-q',
      ...extraArgs,
      '-v',
      'ON_ERROR_STOP=1',
      '-p',
      process.env.POSTGRES_PORT ?? '5432',
      '-d',
      database,
    ],
    { input, stdio: ['pipe', 'pipe', 'pipe'] },
  );
}

/**
 * Runs SQL as the cluster admin, for test set-up only (creating rogue roles for the guard tests, etc.).
 * Uses POSTGRES_USER/POSTGRES_PASSWORD when given, else the local postgres OS user (Debian, as root).
 */
export async function adminSql(sql: string, database = 'postgres'): Promise<void> {
  if (process.env.POSTGRES_PASSWORD) {
    await withPasswordClient(database, (client) => client.query(sql));
    return;
  }
  psqlAsPostgres(database, sql);
}

/** The rows of a query run like `adminSql` (as the superuser), e.g. to inspect what a test left behind. */
export async function adminQuery<T>(sql: string, database = 'postgres'): Promise<T[]> {
  if (process.env.POSTGRES_PASSWORD) {
    return withPasswordClient(database, async (client) => (await client.query(sql)).rows as T[]);
  }
  const output = psqlAsPostgres(database, `SELECT coalesce(json_agg(t), '[]'::json) FROM (${sql}) t`, [
    '-A',
    '-t',
  ]);
  return JSON.parse(output.toString('utf8')) as T[];
}
