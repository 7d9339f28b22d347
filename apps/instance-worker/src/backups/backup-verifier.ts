import { Inject, Injectable, Logger } from '@nestjs/common';
import { Counter, type Metric } from 'prom-client';
import { APP_CONFIG } from '@app/config';
import {
  InstanceBackupsRepository,
  type BackupVerification,
  type InstanceBackupEntity,
  type InstanceEntity,
} from '@app/instance-data';
import { MetricsRegistry } from '@app/metrics';
import type { Config } from '../config/env';
import { InstanceRuntime } from '../lifecycle/instance-runtime';
import { OdooDatabaseProvisioner } from '../lifecycle/odoo-database.provisioner';
import { pgRestoreInto } from './pg-restore';

/** Scratch databases of test restores: `bkverify_<backup id without dashes>`, owned by the instance's role. */
export function scratchDatabaseName(backupId: string): string {
  return `bkverify_${backupId.replace(/-/g, '')}`;
}

export interface VerificationResult {
  result: BackupVerification;
  error: string | null;
}

/** The sanity query: what a restored Odoo database must show. */
const SANITY_SQL = `
  SELECT (SELECT count(*)::int FROM pg_catalog.pg_tables
           WHERE schemaname NOT IN ('pg_catalog', 'information_schema')) AS tables,
         to_regclass('public.res_users') IS NOT NULL AS res_users,
         to_regclass('public.ir_module_module') IS NOT NULL AS ir_module_module`;

/**
 * Proves a completed backup restores: its dump goes into a scratch database (as the instance's own role),
 * a sanity query checks the Odoo schema is there, `res_users` has rows and the table count is the dump's
 * (manifest), then the scratch database is dropped. The result and its time are recorded on the backup;
 * a failure leaves the backup `completed` (its files are intact) with verification `failed`, counted in
 * `backup_verifications_total{result="failed"}` and in the `backup_verifications_failed_last_24h` gauge
 * that the BackupVerificationFailed alert reads.
 */
@Injectable()
export class BackupVerifier {
  private readonly logger = new Logger(BackupVerifier.name);
  private readonly verifications: Counter<'result'>;

  constructor(
    private readonly runtime: InstanceRuntime,
    private readonly provisioner: OdooDatabaseProvisioner,
    private readonly backups: InstanceBackupsRepository,
    metrics: MetricsRegistry,
    @Inject(APP_CONFIG) private readonly config: Config,
  ) {
    const name = 'backup_verifications_total';
    this.verifications =
      (metrics.registry.getSingleMetric(name) as Metric | undefined as Counter<'result'> | undefined) ??
      new Counter({
        name,
        help: 'Test restores of completed backups, by result (passed, failed)',
        labelNames: ['result'],
        registers: [metrics.registry],
      });
  }

  /** Runs the test restore of `backup` and records its result; never throws for a failed check. */
  async verify(instance: InstanceEntity, backup: InstanceBackupEntity): Promise<VerificationResult> {
    let outcome: VerificationResult;
    try {
      await this.restoreAndCheck(instance, backup);
      outcome = { result: 'passed', error: null };
    } catch (error) {
      outcome = { result: 'failed', error: error instanceof Error ? error.message : String(error) };
      this.logger.warn(
        `backup ${backup.id} of instance ${instance.id}: verification failed: ${outcome.error}`,
      );
    }
    await this.backups.recordVerification(backup.id, outcome.result, outcome.error);
    this.verifications.inc({ result: outcome.result });
    return outcome;
  }

  private async restoreAndCheck(instance: InstanceEntity, backup: InstanceBackupEntity): Promise<void> {
    if (!backup.dbDumpPath) throw new Error('the backup has no database dump');
    if (!backup.manifest) throw new Error('the backup has no manifest');
    const names = this.runtime.names(instance);
    const password = await this.runtime.dbPassword(instance);
    const scratch = scratchDatabaseName(backup.id);
    await this.provisioner.dropDatabase(scratch, names.dbRole);
    await this.provisioner.ensure(scratch, names.dbRole, password);
    try {
      await this.pgRestore(names.dbRole, password, scratch, backup.dbDumpPath);
      const found = await this.provisioner.withInstanceConnection(
        scratch,
        names.dbRole,
        password,
        async (c) => {
          const { rows } = await c.query<{ tables: number; res_users: boolean; ir_module_module: boolean }>(
            SANITY_SQL,
          );
          const row = rows[0];
          if (!row) throw new Error('sanity query returned nothing');
          const users = row.res_users
            ? ((await c.query<{ n: number }>('SELECT count(*)::int AS n FROM res_users')).rows[0]?.n ?? 0)
            : 0;
          return { ...row, users };
        },
      );
      const problems: string[] = [];
      if (!found.res_users || !found.ir_module_module)
        problems.push('no Odoo schema (res_users / ir_module_module missing)');
      else if (found.users === 0) problems.push('res_users has no rows');
      if (found.tables !== backup.manifest.tables)
        problems.push(`${found.tables} tables restored, the dump's manifest lists ${backup.manifest.tables}`);
      if (problems.length > 0) throw new Error(`sanity check failed: ${problems.join('; ')}`);
    } finally {
      await this.provisioner.dropDatabase(scratch, names.dbRole).catch((error: unknown) => {
        this.logger.warn(`scratch database ${scratch} not dropped: ${String(error)}`);
      });
    }
  }

  private pgRestore(role: string, password: string, database: string, dump: string): Promise<void> {
    return pgRestoreInto(
      {
        bin: this.config.PG_RESTORE_BIN,
        host: this.config.ODOO_DB_HOST,
        port: this.config.ODOO_DB_PORT,
        role,
        password,
        database,
      },
      dump,
    );
  }
}
