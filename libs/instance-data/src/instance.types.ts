/** Any JSON value (what the `json` columns hold). */
export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };

import type { InstanceAction } from '@app/contracts';

export const ODOO_VERSIONS = ['16.0', '17.0', '18.0'] as const;
export type OdooVersion = (typeof ODOO_VERSIONS)[number];

export const INSTANCE_TYPES = ['development', 'staging', 'production'] as const;
export type InstanceType = (typeof INSTANCE_TYPES)[number];

/** Actions that run as an operation on the instance (stored in `pending_operation` until done). */
export const OPERATION_ACTIONS = ['restart', 'backup', 'restore', 'upgrade'] as const;
export type OperationAction = (typeof OPERATION_ACTIONS)[number];

export function isOperationAction(action: InstanceAction): action is OperationAction {
  return (OPERATION_ACTIONS as readonly string[]).includes(action);
}

/** Operations only an admin asks for (not an instance action of the customer API). */
export type AdminOperationAction = 'migrate';

/** An operation the API recorded and the worker has not finished; re-enqueued by the reconciler if lost. */
export interface PendingOperation {
  action: OperationAction | AdminOperationAction;
  /** migrate: `node` it moves to, `from` the node it was on when asked. */
  params: {
    backup_id?: string;
    version?: string;
    kind?: 'scheduled' | 'manual';
    node?: string;
    from?: string;
  };
  generation: number;
  job_id: string;
  requested_by: string;
  requested_at: string;
}

/**
 * Environment variables of the Odoo container that the platform sets and a customer's `environment_vars`
 * can never override (DB connection of the official image's entrypoint, its config file).
 */
export const RESERVED_ODOO_ENV_VARS: readonly string[] = [
  'HOST',
  'PORT',
  'USER',
  'PASSWORD',
  'PASSWORD_FILE',
  'ODOO_RC',
  'DB_PORT_5432_TCP_ADDR',
  'DB_PORT_5432_TCP_PORT',
  'DB_ENV_POSTGRES_USER',
  'DB_ENV_POSTGRES_PASSWORD',
  'POSTGRES_USER',
  'POSTGRES_PASSWORD',
  'PATH',
];

/**
 * Database names an instance may never take: Postgres' own, the original's reserved list, and the
 * platform's databases (with and without the test suffix). Postgres names are cluster-wide.
 */
export const RESERVED_DATABASE_NAMES: readonly string[] = [
  'postgres',
  'template0',
  'template1',
  'admin',
  'root',
  'master',
  'system',
  'test',
  'temp',
  'public',
  'information_schema',
  'auth',
  'tenant',
  'instance',
  'billing',
  'killbill',
  'kaui',
];

/** True when `name` is reserved, including the test forms of platform databases (`auth_test`, …). */
export function isReservedDatabaseName(name: string): boolean {
  const lower = name.toLowerCase();
  return (
    RESERVED_DATABASE_NAMES.includes(lower) ||
    lower.startsWith('pg_') ||
    /^(auth|tenant|instance|billing)_test([_-].*)?$/.test(lower)
  );
}

export {
  BACKUP_KINDS,
  BACKUP_STATUSES,
  BACKUP_VERIFICATIONS,
  type BackupKind,
  type BackupStatus,
  type BackupVerification,
} from '@app/contracts';

/** What a dump holds, read from `pg_restore --list` when it is taken; a test restore must find it again. */
export interface BackupManifest {
  /** TABLE entries of the dump. */
  tables: number;
  odoo_version: string;
}
