import { DataSource } from 'typeorm';
import { FORBIDDEN_SERVICE_ROLES, SERVICE_DATABASES, ServiceName } from './service-identity';

/** The service is configured to use a database identity it must not use. Fatal: the service refuses to start. */
export class DbUserGuardError extends Error {
  constructor(message: string) {
    super(`DB-user guard: ${message}`);
    this.name = 'DbUserGuardError';
  }
}

export interface DbUserGuardEnv {
  DB_SERVICE_USER?: string;
  DB_SERVICE_PASSWORD?: string;
  POSTGRES_USER?: string;
}

/** Checks that need no connection: run before any connection is opened. */
export function assertServiceCredentials(
  service: ServiceName,
  env: DbUserGuardEnv,
): { user: string; password: string } {
  const user = env.DB_SERVICE_USER?.trim();
  const password = env.DB_SERVICE_PASSWORD;
  if (!user || !password) {
    throw new DbUserGuardError(
      `${service} needs DB_SERVICE_USER and DB_SERVICE_PASSWORD (its own role, e.g. ${SERVICE_DATABASES[service].role})`,
    );
  }
  const admins = new Set<string>([
    ...FORBIDDEN_SERVICE_ROLES,
    ...(env.POSTGRES_USER ? [env.POSTGRES_USER] : []),
  ]);
  if (admins.has(user)) {
    throw new DbUserGuardError(`${service} must not connect as the administrative role "${user}"`);
  }
  const own = SERVICE_DATABASES[service].role;
  const owner = Object.entries(SERVICE_DATABASES).find(([, v]) => v.role === user && v.role !== own);
  if (owner) {
    throw new DbUserGuardError(`${service} must not use "${user}", the role of ${owner[0]}`);
  }
  return { user, password };
}

/** Names of the other services' databases, with any suffix (e.g. "billing_test"), as a regex for pg. */
function otherDatabasesPattern(service: ServiceName): string {
  const own = SERVICE_DATABASES[service].database;
  const others = [...new Set(Object.values(SERVICE_DATABASES).map((v) => v.database))].filter(
    (d) => d !== own,
  );
  return `^(${others.join('|')})(_[a-z0-9_]+)?$`;
}

/** Checks on the live connection: the role is not superuser and cannot reach another service's database. */
export async function assertConnectedRole(service: ServiceName, dataSource: DataSource): Promise<void> {
  const [role] = (await dataSource.query(
    `SELECT current_user AS name, r.rolsuper AS superuser, r.rolcreaterole AS createrole, r.rolbypassrls AS bypassrls
       FROM pg_roles r WHERE r.rolname = current_user`,
  )) as { name: string; superuser: boolean; createrole: boolean; bypassrls: boolean }[];
  if (!role) throw new DbUserGuardError(`could not read the attributes of the connected role`);
  if (role.superuser || role.bypassrls) {
    throw new DbUserGuardError(
      `${service} is connected as "${role.name}", which is a superuser; use its own role`,
    );
  }
  const reachable = (await dataSource.query(
    `SELECT datname FROM pg_database
      WHERE datallowconn AND NOT datistemplate AND datname ~ $1
        AND has_database_privilege(current_user, datname, 'CONNECT')
      ORDER BY datname`,
    [otherDatabasesPattern(service)],
  )) as { datname: string }[];
  if (reachable.length > 0) {
    throw new DbUserGuardError(
      `${service} role "${role.name}" can connect to another service's database (${reachable
        .map((r) => r.datname)
        .join(', ')}); revoke CONNECT from PUBLIC and grant it only to the owner`,
    );
  }
}
