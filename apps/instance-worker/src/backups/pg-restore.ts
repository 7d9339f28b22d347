import { spawn } from 'node:child_process';

export interface PgRestoreTarget {
  bin: string;
  host: string;
  port: number;
  role: string;
  password: string;
  database: string;
}

/**
 * `pg_restore` of a custom-format dump into `target.database` as the instance's own role (never a superuser):
 * no owners or grants from the dump, one transaction, stop at the first error.
 */
export async function pgRestoreInto(target: PgRestoreTarget, dumpPath: string): Promise<void> {
  const child = spawn(
    target.bin,
    [
      `--host=${target.host}`,
      `--port=${target.port}`,
      `--username=${target.role}`,
      '--no-password',
      '--no-owner',
      '--no-privileges',
      '--exit-on-error',
      '--single-transaction',
      `--dbname=${target.database}`,
      dumpPath,
    ],
    {
      env: { ...process.env, PGPASSWORD: target.password, PGCONNECT_TIMEOUT: '10' },
      stdio: ['ignore', 'ignore', 'pipe'],
    },
  );
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
    if (stderr.length < 2000) stderr += chunk;
  });
  await new Promise<void>((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (code) =>
      code === 0
        ? resolve()
        : reject(new Error(`pg_restore into ${target.database} failed (exit ${code}): ${stderr.trim()}`)),
    );
  });
}
