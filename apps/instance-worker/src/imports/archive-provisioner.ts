import { Inject, Injectable, Logger } from '@nestjs/common';
import { spawn } from 'node:child_process';
import { PassThrough } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { pack as tarPack, type Pack } from 'tar-stream';
import { APP_CONFIG } from '@app/config';
import { eachZipEntry, InstanceBackupsRepository, type InstanceEntity } from '@app/instance-data';
import { PermanentJobError } from '@app/queue';
import { odooBackupZip } from '../backups/odoo-zip-exporter';
import type { Config } from '../config/env';
import { InstanceBackupsService } from '../lifecycle/instance-backups.service';
import { InstanceRuntime } from '../lifecycle/instance-runtime';
import { OdooDatabaseProvisioner } from '../lifecycle/odoo-database.provisioner';
import { ImportArchives } from './import-archives';

/** The Odoo images run as uid/gid 101 and own /var/lib/odoo (infrastructure/odoo-stub/build.sh). */
const ODOO_UID = 101;

function message(error: unknown): string {
  return (error instanceof Error ? error.message : String(error)).slice(0, 1000);
}

/** A filestore path from the zip that stays inside the filestore (no `..`, no absolute path). */
function safeRelative(name: string): string | null {
  const relative = name.slice('filestore/'.length);
  const parts = relative.split('/');
  if (!relative || parts.some((p) => p === '' || p === '.' || p === '..' || p.includes('\\'))) return null;
  return relative;
}

/**
 * A first provisioning from an Odoo backup zip instead of `odoo -i base` (issue #15): the zip uploaded for an
 * import, or, for a staging copy, one made on the spot from another instance's backup (the download's own
 * exporter), so both go through the same path. The database is recreated empty and filled from `dump.sql`
 * (plain SQL, `psql` as the instance's own role, one transaction); the filestore goes into the instance's
 * volume under its own database name; then, as for a spare, the database gets a new uuid/secret and the
 * administrator the login and password this creation issued. Every step is idempotent, so a retried job
 * starts again from an empty database.
 */
@Injectable()
export class ArchiveProvisioner {
  private readonly logger = new Logger(ArchiveProvisioner.name);

  constructor(
    private readonly archives: ImportArchives,
    private readonly runtime: InstanceRuntime,
    private readonly provisioner: OdooDatabaseProvisioner,
    private readonly backups: InstanceBackupsService,
    private readonly backupRows: InstanceBackupsRepository,
    @Inject(APP_CONFIG) private readonly config: Config,
  ) {}

  /** Database, settings and filestore from the archive; returns the (created, not started) container. */
  async provision(row: InstanceEntity, password: string, image: string): Promise<string> {
    if (!row.provisionSource) throw new PermanentJobError('the instance has no archive to provision from');
    if (!(await this.archives.exists(row.id))) await this.prepare(row);
    const path = this.archives.path(row.id);
    const names = this.runtime.names(row);
    await this.provisioner.recreateDatabase(names.database, names.dbRole, password);
    try {
      await this.loadDump(path, { database: names.database, role: names.dbRole, password });
    } catch (error) {
      // Bad SQL will not get better on a retry: fail the provisioning now (it then removes what it made).
      throw new PermanentJobError(`restoring dump.sql failed: ${message(error)}`);
    }
    await this.runtime.initialiseOdoo(row, password, image, { odooSchema: true });
    const containerId = await this.runtime.ensureContainer(row, password, image);
    await this.runtime.copyDataIn(row, containerId, this.filestoreTar(path, names.database));
    return containerId;
  }

  /** The file is deleted after the provisioning, whatever its outcome, and when the instance is removed. */
  discard(instanceId: string): Promise<void> {
    return this.archives.discard(instanceId);
  }

  /** An import's zip must have been uploaded; a staging copy's is made from the source backup here. */
  private async prepare(row: InstanceEntity): Promise<void> {
    const source = row.provisionSource;
    if (source?.kind !== 'backup') {
      throw new PermanentJobError('the imported archive is not on this worker (upload lost or already used)');
    }
    const backup = await this.backupRows.findById(source.backup_id);
    if (
      !backup ||
      backup.instanceId !== source.source_instance_id ||
      backup.status !== 'completed' ||
      !backup.dbDumpPath ||
      !backup.filestorePath
    ) {
      throw new PermanentJobError(`backup ${source.backup_id} is not a completed backup of its instance`);
    }
    await this.backups.verify(backup);
    await this.archives.write(
      row.id,
      odooBackupZip({
        backupId: backup.id,
        dumpPath: backup.dbDumpPath,
        filestorePath: backup.filestorePath,
        databaseName: backup.databaseName,
        odooVersion: backup.odooVersion,
        tables: backup.manifest?.tables ?? null,
        pgRestoreBin: this.config.PG_RESTORE_BIN,
      }),
    );
    this.logger.log(`instance ${row.id}: archive made from backup ${backup.id}`);
  }

  /** `psql` reads dump.sql straight out of the zip: stop at the first error, all or nothing. */
  private async loadDump(
    zipPath: string,
    target: { database: string; role: string; password: string },
  ): Promise<void> {
    let found = false;
    await eachZipEntry(zipPath, async (name, _entry, content) => {
      if (name !== 'dump.sql') return;
      found = true;
      const child = spawn(
        this.config.PSQL_BIN,
        [
          '--no-psqlrc',
          '--quiet',
          '--set=ON_ERROR_STOP=1',
          '--single-transaction',
          `--host=${this.config.ODOO_DB_HOST}`,
          `--port=${this.config.ODOO_DB_PORT}`,
          `--username=${target.role}`,
          '--no-password',
          `--dbname=${target.database}`,
          '--file=-',
        ],
        {
          env: { ...process.env, PGPASSWORD: target.password, PGCONNECT_TIMEOUT: '10' },
          stdio: ['pipe', 'ignore', 'pipe'],
        },
      );
      let stderr = '';
      child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
        if (stderr.length < 2000) stderr += chunk;
      });
      const exited = new Promise<void>((resolve, reject) => {
        child.once('error', reject);
        child.once('close', (code) =>
          code === 0 ? resolve() : reject(new Error(`psql exited ${code}: ${stderr.trim()}`)),
        );
      });
      // psql stopping early (ON_ERROR_STOP) closes its stdin: that is reported by its exit code.
      const fed = pipeline(await content(), child.stdin).catch(() => undefined);
      await Promise.all([exited, fed]);
    });
    if (!found) throw new Error('the archive has no dump.sql');
  }

  /** The zip's `filestore/…` as a tar of `odoo/filestore/<database>/…`, owned by the Odoo user. */
  private filestoreTar(zipPath: string, database: string): PassThrough {
    const tar = tarPack();
    const made = new Set<string>();
    const dir = (name: string) => {
      if (made.has(name)) return;
      made.add(name);
      tar.entry({ name, type: 'directory', mode: 0o755, uid: ODOO_UID, gid: ODOO_UID });
    };
    const root = `odoo/filestore/${database}/`;
    const fill = async (out: Pack) => {
      ['odoo/', 'odoo/filestore/', root].forEach(dir);
      await eachZipEntry(zipPath, async (name, entry, content) => {
        if (!name.startsWith('filestore/') || name.endsWith('/')) return;
        const relative = safeRelative(name);
        if (!relative) throw new PermanentJobError(`unsafe path in the archive: ${name.slice(0, 200)}`);
        const parts = relative.split('/');
        for (let i = 1; i < parts.length; i++) dir(`${root}${parts.slice(0, i).join('/')}/`);
        const source = await content();
        await new Promise<void>((resolve, reject) => {
          const sink = out.entry(
            {
              name: `${root}${relative}`,
              size: entry.uncompressedSize,
              mode: 0o644,
              uid: ODOO_UID,
              gid: ODOO_UID,
              mtime: entry.getLastModDate(),
            },
            (error) => (error ? reject(error) : resolve()),
          );
          source.once('error', reject);
          source.pipe(sink);
        });
      });
      out.finalize();
    };
    // A Node stream for the engine's copy: an error while filling destroys it too.
    const out = new PassThrough();
    fill(tar).catch((error: unknown) =>
      out.destroy(error instanceof Error ? error : new Error(String(error))),
    );
    tar.pipe(out);
    return out;
  }
}
