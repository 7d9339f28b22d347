import { spawn } from 'node:child_process';
import { createReadStream } from 'node:fs';
import { PassThrough, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import { extract } from 'tar-stream';
import { ZipFile } from 'yazl';

export interface OdooZipSource {
  backupId: string;
  /** pg_dump custom format. */
  dumpPath: string;
  /** gzipped tar of the data volume (`odoo/filestore/<db>/…`, `odoo/sessions/…`). */
  filestorePath: string;
  databaseName: string;
  odooVersion: string;
  tables: number | null;
  pgRestoreBin: string;
}

/** Odoo's `dump_db_manifest` fields (what its database manager writes and reads), plus our own. */
export function odooManifest(source: OdooZipSource): Record<string, unknown> {
  const [major, minor] = source.odooVersion.split('.').map(Number);
  return {
    odoo_dump: '1',
    db_name: source.databaseName,
    version: source.odooVersion,
    version_info: [major ?? 0, minor ?? 0, 0, 'final', 0, ''],
    major_version: source.odooVersion,
    pg_version: null,
    modules: {},
    saasodoo: { backup_id: source.backupId, tables: source.tables },
  };
}

/**
 * A backup as the zip Odoo's database manager makes and restores: `manifest.json`, `dump.sql` (plain SQL,
 * converted from the custom-format dump by `pg_restore --file=-` as it is read) and `filestore/` (the
 * instance database's filestore, taken entry by entry from the volume archive). Streamed end to end: no file
 * is ever held whole in memory, and an error in any source destroys the output stream.
 */
export function odooBackupZip(source: OdooZipSource): Readable {
  const zip = new ZipFile();
  const output = zip.outputStream as Readable;
  const fail = (error: unknown) => {
    output.destroy(error instanceof Error ? error : new Error(String(error)));
  };

  zip.addBuffer(Buffer.from(`${JSON.stringify(odooManifest(source), null, 4)}\n`), 'manifest.json');

  const sql = spawn(source.pgRestoreBin, ['--no-owner', '--no-privileges', '--file=-', source.dumpPath], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  sql.stderr.setEncoding('utf8').on('data', (chunk: string) => {
    if (stderr.length < 2000) stderr += chunk;
  });
  sql.once('error', fail);
  sql.once('close', (code) => {
    if (code !== 0) fail(new Error(`pg_restore --file=- failed (exit ${code}): ${stderr.trim()}`));
  });
  zip.addReadStream(sql.stdout, 'dump.sql');
  output.once('close', () => sql.kill());

  const prefix = `odoo/filestore/${source.databaseName}/`;
  const tar = extract();
  tar.on('entry', (header, stream, next) => {
    stream.once('end', next);
    stream.once('error', fail);
    const relative = header.name.startsWith(prefix) ? header.name.slice(prefix.length) : '';
    if (header.type === 'file' && relative) {
      // A PassThrough holds yazl's place in the queue; the tar entry drains into it as yazl reads.
      const entry = new PassThrough();
      stream.pipe(entry);
      zip.addReadStream(entry, `filestore/${relative}`, { mtime: header.mtime ?? new Date() });
    } else {
      stream.resume();
    }
  });
  pipeline(createReadStream(source.filestorePath), createGunzip(), tar).then(() => zip.end(), fail);
  return output;
}
