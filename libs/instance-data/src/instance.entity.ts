import { Column, Entity, PrimaryColumn } from 'typeorm';
import type { DesiredState, InstanceStatus, ProvisionSource, SuspensionSource } from '@app/contracts';
import type { InstanceType, JsonValue, OdooVersion, PendingOperation } from './instance.types';

/** bigint columns come back from pg as strings (sizes stay far below 2^53). */
const bigintTransformer = {
  to: (value: number | null | undefined): number | null | undefined => value,
  from: (value: string | null): number | null => (value === null ? null : Number(value)),
};

/** numeric columns come back from pg as strings. */
const numericTransformer = {
  to: (value: number | null | undefined): number | null | undefined => value,
  from: (value: string | null): number | null => (value === null ? null : Number(value)),
};

/**
 * One Odoo instance. The API writes the customer-facing fields and the intent (desired_state, generation,
 * pending_operation); the worker writes the observed status and the runtime fields (container, URLs, …).
 * JSON fields use the `json` type (not jsonb) so they round-trip exactly, key order included.
 */
@Entity({ name: 'instances' })
export class InstanceEntity {
  @PrimaryColumn({ type: 'uuid' })
  id: string;

  @Column({ name: 'tenant_id', type: 'uuid' })
  tenantId: string;

  /** The user who created it. */
  @Column({ name: 'customer_id', type: 'uuid' })
  customerId: string;

  @Column({ type: 'varchar', length: 100 })
  name: string;

  @Column({ type: 'varchar', length: 500, nullable: true })
  description: string | null;

  @Column({ name: 'odoo_version', type: 'varchar', length: 8 })
  odooVersion: OdooVersion;

  @Column({ name: 'instance_type', type: 'varchar', length: 16 })
  instanceType: InstanceType;

  @Column({ name: 'cpu_limit', type: 'numeric', precision: 5, scale: 2, transformer: numericTransformer })
  cpuLimit: number;

  /** `<int>M` or `<int>G`, e.g. `2G`. */
  @Column({ name: 'memory_limit', type: 'varchar', length: 16 })
  memoryLimit: string;

  @Column({ name: 'storage_limit', type: 'varchar', length: 16 })
  storageLimit: string;

  @Column({ name: 'admin_email', type: 'varchar', length: 254 })
  adminEmail: string;

  /** Hash of the generated Odoo admin password (never the password). */
  @Column({ name: 'admin_password_hash', type: 'text' })
  adminPasswordHash: string;

  /** The admin password encrypted for the worker (InstanceSecrets), cleared after first provisioning. */
  @Column({ name: 'admin_password_enc', type: 'text', nullable: true })
  adminPasswordEnc: string | null;

  @Column({ name: 'demo_data', type: 'boolean', default: false })
  demoData: boolean;

  /** Odoo database name = Postgres database name (cluster-wide, held until the instance is purged). */
  @Column({ name: 'database_name', type: 'varchar', length: 63 })
  databaseName: string;

  @Column({ type: 'varchar', length: 63, nullable: true })
  subdomain: string | null;

  @Column({ name: 'custom_addons', type: 'json' })
  customAddons: string[];

  @Column({ name: 'disabled_modules', type: 'json' })
  disabledModules: string[];

  @Column({ name: 'environment_vars', type: 'json' })
  environmentVars: Record<string, string>;

  @Column({ type: 'json' })
  metadata: Record<string, JsonValue>;

  @Column({ name: 'plan_name', type: 'varchar', length: 64, nullable: true })
  planName: string | null;

  // ---- lifecycle ----------------------------------------------------------------------------------------

  /** Observed status, written by the worker (and by the API only at creation). */
  @Column({ type: 'varchar', length: 24 })
  status: InstanceStatus;

  @Column({ name: 'desired_state', type: 'varchar', length: 16 })
  desiredState: DesiredState;

  /** Stable state to return to after suspend (`running` or `stopped`). */
  @Column({ name: 'previous_status', type: 'varchar', length: 24, nullable: true })
  previousStatus: InstanceStatus | null;

  /** Bumped by every recorded intent (action, desired-state change, limits change). */
  @Column({ type: 'integer', default: 0 })
  generation: number;

  /**
   * Generation of the latest desired-state intent the worker converged to (or recorded a failure for).
   * `desired_job_id`'s generation above it means that intent still has work to do.
   */
  @Column({ name: 'applied_generation', type: 'integer', default: 0 })
  appliedGeneration: number;

  /** Job enqueued for the latest desired-state change (`<id>:<job>:<generation>`); null before entitlement. */
  @Column({ name: 'desired_job_id', type: 'varchar', length: 100, nullable: true })
  desiredJobId: string | null;

  @Column({ name: 'pending_operation', type: 'jsonb', nullable: true })
  pendingOperation: PendingOperation | null;

  /**
   * Who holds the instance suspended. Desired state is `suspended` while this is not empty; a source lifts
   * only its own entry (the customer only `customer`), and the reconciler re-applies `billing`/`admin`.
   */
  @Column({ name: 'suspension_sources', type: 'text', array: true, default: () => "'{}'" })
  suspensionSources: SuspensionSource[];

  @Column({ name: 'status_reason', type: 'text', nullable: true })
  statusReason: string | null;

  @Column({ name: 'last_error', type: 'text', nullable: true })
  lastError: string | null;

  // ---- runtime (worker) ---------------------------------------------------------------------------------

  @Column({ type: 'varchar', length: 255, nullable: true })
  image: string | null;

  @Column({ name: 'container_id', type: 'varchar', length: 64, nullable: true })
  containerId: string | null;

  @Column({ name: 'container_name', type: 'varchar', length: 128, nullable: true })
  containerName: string | null;

  @Column({ name: 'volume_name', type: 'varchar', length: 128, nullable: true })
  volumeName: string | null;

  @Column({ name: 'network_name', type: 'varchar', length: 128, nullable: true })
  networkName: string | null;

  /** The swarm node holding the instance's local volume (it is pinned there); null on one host. */
  @Column({ name: 'placement_node', type: 'varchar', length: 64, nullable: true })
  placementNode: string | null;

  /** Port published on 127.0.0.1 in host mode; null otherwise. */
  @Column({ name: 'host_port', type: 'integer', nullable: true })
  hostPort: number | null;

  @Column({ name: 'internal_url', type: 'varchar', length: 255, nullable: true })
  internalUrl: string | null;

  @Column({ name: 'external_url', type: 'varchar', length: 255, nullable: true })
  externalUrl: string | null;

  @Column({ name: 'db_role', type: 'varchar', length: 63, nullable: true })
  dbRole: string | null;

  @Column({ name: 'db_password_enc', type: 'text', nullable: true })
  dbPasswordEnc: string | null;

  /** Data of a first provisioning other than a fresh database: an imported zip or a backup (staging copy). */
  @Column({ name: 'provision_source', type: 'jsonb', nullable: true })
  provisionSource: ProvisionSource | null;

  @Column({ name: 'created_at', type: 'timestamptz' })
  createdAt: Date;

  @Column({ name: 'updated_at', type: 'timestamptz' })
  updatedAt: Date;

  @Column({ name: 'started_at', type: 'timestamptz', nullable: true })
  startedAt: Date | null;

  @Column({ name: 'stopped_at', type: 'timestamptz', nullable: true })
  stoppedAt: Date | null;

  @Column({ name: 'terminated_at', type: 'timestamptz', nullable: true })
  terminatedAt: Date | null;

  /** After this time the worker removes container, volume, database and role. */
  @Column({ name: 'purge_after', type: 'timestamptz', nullable: true })
  purgeAfter: Date | null;

  @Column({ name: 'purged_at', type: 'timestamptz', nullable: true })
  purgedAt: Date | null;

  // ---- storage usage (worker) ---------------------------------------------------------------------------

  /** Bytes in the instance's volume (filestore, sessions, addons) at the last measurement. */
  @Column({ name: 'storage_bytes', type: 'bigint', nullable: true, transformer: bigintTransformer })
  storageBytes: number | null;

  /** pg_database_size of the instance's database at the last measurement. */
  @Column({ name: 'database_bytes', type: 'bigint', nullable: true, transformer: bigintTransformer })
  databaseBytes: number | null;

  @Column({ name: 'usage_measured_at', type: 'timestamptz', nullable: true })
  usageMeasuredAt: Date | null;

  /** When the 90 % warning was sent for the current crossing; cleared when usage falls back under. */
  @Column({ name: 'storage_warned_at', type: 'timestamptz', nullable: true })
  storageWarnedAt: Date | null;
}
