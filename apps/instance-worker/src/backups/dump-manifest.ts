import { spawn } from 'node:child_process';
import type { BackupManifest } from '@app/instance-data';

/** A `pg_restore --list` line of a table definition: `215; 1259 16390 TABLE public res_users odoo`. */
const TABLE_ENTRY = /^\d+; \d+ \d+ TABLE (?!DATA)/;

/** How many tables a custom-format dump defines (read from its table of contents, not from the source). */
export function countDumpTables(listing: string): number {
  return listing.split('\n').filter((line) => TABLE_ENTRY.test(line)).length;
}

/** The manifest of the dump at `path`: `pg_restore --list`, which reads only its table of contents. */
export async function readDumpManifest(
  pgRestoreBin: string,
  path: string,
  odooVersion: string,
): Promise<BackupManifest> {
  const child = spawn(pgRestoreBin, ['--list', path], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
    if (stderr.length < 2000) stderr += chunk;
  });
  await new Promise<void>((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (code) =>
      code === 0 ? resolve() : reject(new Error(`pg_restore --list failed (exit ${code}): ${stderr.trim()}`)),
    );
  });
  return { tables: countDumpTables(stdout), odoo_version: odooVersion };
}
