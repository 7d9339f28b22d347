/**
 * What a valid instance looks like: the original's rules (reference §1.3, validators.py) plus the resource
 * minimums (the ceilings are the plan's, in @app/tenancy), the reserved names that would collide with the platform, and the environment variables
 * a customer must not be able to set. Pure functions, shared by the DTOs and the services.
 */

import { isReservedSubdomain } from '@app/contracts';
import { ValidationFailedError } from '@app/http';
import {
  BILLING_PLAN_CEILINGS,
  fieldsAboveCeiling,
  sizeInMiB,
  TENANT_PLAN_CEILINGS,
  type InstanceResources,
  type PlanCeiling,
} from '@app/tenancy';
import {
  INSTANCE_TYPES,
  isReservedDatabaseName as isReservedByInstanceData,
  ODOO_VERSIONS,
  RESERVED_ODOO_ENV_VARS,
  type InstanceType,
  type OdooVersion,
} from '@app/instance-data';

export { INSTANCE_TYPES, ODOO_VERSIONS, type InstanceType, type OdooVersion };

export { sizeInMiB };

const GIB = 1024;

/** The absolute bounds a limit can take; what a tenant may have is its plan's ceiling (@app/tenancy). */
export const CPU_LIMIT_MIN = 0.1;
const ALL_CEILINGS: PlanCeiling[] = [
  ...Object.values(TENANT_PLAN_CEILINGS),
  ...Object.values(BILLING_PLAN_CEILINGS),
];
/** The largest of every plan's ceilings: nothing above it can be sold, so it is a 400 whoever asks. */
const LARGEST_CEILING: PlanCeiling = ALL_CEILINGS.reduce((a, b) => ({
  max_instances: Math.max(a.max_instances, b.max_instances),
  cpu_limit: Math.max(a.cpu_limit, b.cpu_limit),
  memory_limit: sizeInMiB(a.memory_limit) >= sizeInMiB(b.memory_limit) ? a.memory_limit : b.memory_limit,
  storage_limit: sizeInMiB(a.storage_limit) >= sizeInMiB(b.storage_limit) ? a.storage_limit : b.storage_limit,
}));
export const CPU_LIMIT_MAX = LARGEST_CEILING.cpu_limit;
/** Below this Odoo cannot even start its workers. */
export const MEMORY_LIMIT_MIN_MIB = 256;
export const STORAGE_LIMIT_MIN_MIB = GIB;

/** `<int>M` or `<int>G`, as the original accepted (it upper-cased the unit first). */
export const RESOURCE_SIZE_PATTERN = /^[1-9][0-9]{0,6}[MG]$/;

export interface FieldProblem {
  field: string;
  problems: string[];
}

export type ResourceLimits = InstanceResources;

/**
 * Limits below what an instance needs to run, or above what any plan sells (formats are checked by the
 * DTOs before). What one tenant may have is its plan's ceiling: a 409, checked by the services.
 */
export function resourceMinimumProblems(limits: ResourceLimits): FieldProblem[] {
  const problems: FieldProblem[] = fieldsAboveCeiling(limits, LARGEST_CEILING).map((field) => ({
    field,
    problems: [`${field} must be at most ${String(LARGEST_CEILING[field])} (the largest plan)`],
  }));
  if (
    sizeInMiB(limits.memory_limit) < MEMORY_LIMIT_MIN_MIB &&
    !problems.some((p) => p.field === 'memory_limit')
  ) {
    problems.push({
      field: 'memory_limit',
      problems: [`memory_limit must be at least ${MEMORY_LIMIT_MIN_MIB}M`],
    });
  }
  if (
    sizeInMiB(limits.storage_limit) < STORAGE_LIMIT_MIN_MIB &&
    !problems.some((p) => p.field === 'storage_limit')
  ) {
    problems.push({ field: 'storage_limit', problems: ['storage_limit must be at least 1G'] });
  }
  return problems;
}

/** 400 VALIDATION_FAILED with one entry per field out of bounds (a plan's own ceiling is a 409). */
export function assertResourceMinimums(limits: ResourceLimits): void {
  const problems = resourceMinimumProblems(limits);
  if (problems.length > 0) {
    throw new ValidationFailedError(
      problems.map((p) => `${p.field}: ${p.problems.join(', ')}`).join('; '),
      problems,
    );
  }
}

/** 1–50 characters, letters, digits, `_` and `-`, not starting or ending with `_` or `-` (after lower-casing). */
export const DATABASE_NAME_PATTERN = /^[a-z0-9](?:[a-z0-9_-]{0,48}[a-z0-9])?$/;

/** Beyond @app/instance-data's list (the original's, Postgres' and the platform's databases). */
const MORE_RESERVED_DATABASE_NAMES: ReadonlySet<string> = new Set([
  'odoo',
  'provisioner',
  'odoo_provisioner',
]);

/**
 * Names of the platform's service databases and their variants (`billing`, `billing_test`, ...): the DB-user
 * guard treats any database so named as another service's, so an Odoo database must never look like one.
 */
const PLATFORM_DATABASE_PATTERN = /^(auth|tenant|instance|billing)([_-].*)?$/;

export function isReservedDatabaseName(name: string): boolean {
  return (
    isReservedByInstanceData(name) ||
    MORE_RESERVED_DATABASE_NAMES.has(name) ||
    PLATFORM_DATABASE_PATTERN.test(name)
  );
}

/** 3–50 characters, letters, digits and `-`, not starting or ending with `-` (after lower-casing). */
export const SUBDOMAIN_PATTERN = /^[a-z0-9](?:[a-z0-9-]{1,48}[a-z0-9])$/;

export function subdomainProblem(subdomain: string): string | undefined {
  if (!SUBDOMAIN_PATTERN.test(subdomain)) {
    return 'subdomain must be 3–50 letters, digits or "-", not starting or ending with "-"';
  }
  if (isReservedSubdomain(subdomain)) return `subdomain "${subdomain}" is reserved`;
  return undefined;
}

/** A subdomain made from the database name when none is given: `_` becomes `-`, padded to 3 characters. */
export function subdomainFromDatabaseName(databaseName: string): string {
  let slug = databaseName.replace(/_/g, '-').replace(/-+/g, '-').replace(/^-|-$/g, '');
  if (slug.length < 3) slug = `${slug}-odoo`.replace(/^-/, '');
  if (isReservedSubdomain(slug)) slug = `${slug}-odoo`;
  return slug.slice(0, 50).replace(/-$/, '');
}

/** Odoo module (addon) names as the original allowed them: ≤100, letters, digits, `_` and `-`. */
export const ADDON_NAME_PATTERN = /^[A-Za-z0-9_-]{1,100}$/;
export const MAX_ADDONS = 200;

/**
 * `environment_vars` is an allowlist: Odoo's own `ODOO_*` settings plus the few names below. Anything else
 * (BASH_ENV, ENV, LD_PRELOAD, PYTHONPATH, PYTHONWARNINGS, ...) could run a customer's code in the image's
 * entrypoint or interpreter, so it is refused.
 */
export const ODOO_ENV_VAR_PATTERN = /^ODOO_[A-Z0-9_]{1,60}$/;
/** Allowed besides `ODOO_*`: the container's time zone and locale. */
export const EXTRA_ALLOWED_ENV_VARS: readonly string[] = ['TZ', 'LANG', 'LC_ALL'];
export const MAX_ENV_VARS = 100;
export const MAX_ENV_VALUE_LENGTH = 4096;

/**
 * `ODOO_*` names that still carry the Odoo database connection or the secrets the worker sets: the
 * original image's ODOO_DATABASE_*, the config file, the admin password. Never overridable.
 */
const FORBIDDEN_ENV_NAMES: ReadonlySet<string> = new Set([
  ...RESERVED_ODOO_ENV_VARS,
  'ODOO_RC',
  'ODOO_ADMIN_PASSWORD',
  'ODOO_EMAIL',
  'ODOO_PASSWORD',
]);
const FORBIDDEN_ENV_PREFIXES = ['ODOO_DATABASE_', 'ODOO_DB_'];

/** Whether a customer may set `name` (exact case: the allowlist is upper-case). */
export function isAllowedEnvVar(name: string): boolean {
  if (!ODOO_ENV_VAR_PATTERN.test(name) && !EXTRA_ALLOWED_ENV_VARS.includes(name)) return false;
  return !FORBIDDEN_ENV_NAMES.has(name) && !FORBIDDEN_ENV_PREFIXES.some((prefix) => name.startsWith(prefix));
}

/** Problems of an `environment_vars` object, one message per offending entry, each naming the variable. */
export function environmentVarProblems(vars: Record<string, unknown>): string[] {
  const entries = Object.entries(vars);
  const problems: string[] = [];
  if (entries.length > MAX_ENV_VARS) problems.push(`at most ${MAX_ENV_VARS} environment variables`);
  for (const [name, value] of entries) {
    if (!isAllowedEnvVar(name)) {
      problems.push(
        `"${name}" is not allowed (only ODOO_<NAME> with upper-case letters, digits and "_", or ` +
          `${EXTRA_ALLOWED_ENV_VARS.join(', ')}; the database connection and secrets are set by the platform)`,
      );
    }
    if (typeof value !== 'string') problems.push(`the value of "${name}" must be a string`);
    else if (value.length > MAX_ENV_VALUE_LENGTH || value.includes('\0')) {
      problems.push(`the value of "${name}" must be at most ${MAX_ENV_VALUE_LENGTH} characters without NUL`);
    }
  }
  return problems;
}

/** Problems of a `custom_addons` / `disabled_modules` list. */
export function addonListProblems(list: unknown[]): string[] {
  const problems: string[] = [];
  if (list.length > MAX_ADDONS) problems.push(`at most ${MAX_ADDONS} entries`);
  const seen = new Set<string>();
  for (const item of list) {
    if (typeof item !== 'string' || !ADDON_NAME_PATTERN.test(item)) {
      problems.push(`${JSON.stringify(item)} is not a module name (1–100 letters, digits, "_" or "-")`);
    } else if (seen.has(item)) {
      problems.push(`"${item}" is listed twice`);
    } else seen.add(item);
  }
  return problems;
}

/** metadata is free-form JSON, bounded so one row cannot grow without limit. */
export const MAX_METADATA_BYTES = 16 * 1024;
