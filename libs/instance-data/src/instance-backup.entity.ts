import { Column, Entity, PrimaryColumn } from 'typeorm';
import type { BackupKind, BackupManifest, BackupStatus, BackupVerification } from './instance.types';

const bigintTransformer = {
  to: (value: number | null | undefined): number | null | undefined => value,
  from: (value: string | null): number | null => (value === null ? null : Number(value)),
};

/**
 * One backup: a pg_dump (custom format) of the Odoo database and a gzipped tar of the data volume
 * (filestore, sessions). `completed` only once both files were re-read and their sha256 matched.
 */
@Entity({ name: 'instance_backups' })
export class InstanceBackupEntity {
  @PrimaryColumn({ type: 'uuid' })
  id: string;

  @Column({ name: 'instance_id', type: 'uuid' })
  instanceId: string;

  @Column({ type: 'varchar', length: 16 })
  kind: BackupKind;

  @Column({ type: 'varchar', length: 16 })
  status: BackupStatus;

  /** The job that made it: a retried job resumes its own backup instead of starting another. */
  @Column({ name: 'job_id', type: 'varchar', length: 100, nullable: true })
  jobId: string | null;

  @Column({ name: 'database_name', type: 'varchar', length: 63 })
  databaseName: string;

  @Column({ name: 'db_dump_path', type: 'text', nullable: true })
  dbDumpPath: string | null;

  @Column({ name: 'db_dump_sha256', type: 'char', length: 64, nullable: true })
  dbDumpSha256: string | null;

  @Column({ name: 'db_dump_size', type: 'bigint', nullable: true, transformer: bigintTransformer })
  dbDumpSize: number | null;

  @Column({ name: 'filestore_path', type: 'text', nullable: true })
  filestorePath: string | null;

  @Column({ name: 'filestore_sha256', type: 'char', length: 64, nullable: true })
  filestoreSha256: string | null;

  @Column({ name: 'filestore_size', type: 'bigint', nullable: true, transformer: bigintTransformer })
  filestoreSize: number | null;

  @Column({ name: 'odoo_version', type: 'varchar', length: 8 })
  odooVersion: string;

  @Column({ type: 'varchar', length: 255, nullable: true })
  image: string | null;

  @Column({ name: 'requested_by', type: 'varchar', length: 200 })
  requestedBy: string;

  @Column({ name: 'created_at', type: 'timestamptz' })
  createdAt: Date;

  @Column({ name: 'completed_at', type: 'timestamptz', nullable: true })
  completedAt: Date | null;

  @Column({ type: 'text', nullable: true })
  error: string | null;

  @Column({ type: 'jsonb', nullable: true })
  manifest: BackupManifest | null;

  /** Result of the test restore into a scratch database (null until it ran). */
  @Column({ type: 'varchar', length: 16, nullable: true })
  verification: BackupVerification | null;

  @Column({ name: 'verified_at', type: 'timestamptz', nullable: true })
  verifiedAt: Date | null;

  @Column({ name: 'verification_error', type: 'text', nullable: true })
  verificationError: string | null;
}
