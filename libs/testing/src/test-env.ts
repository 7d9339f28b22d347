import { SERVICE_DATABASES, ServiceName } from '@app/database';

/** Suffix of the databases tests use (scripts/test.sh creates them); never the platform's own databases. */
export const TEST_DB_SUFFIX = process.env.TEST_DB_SUFFIX ?? '_test';

export function assertTestDatabase(name: string): void {
  if (!/_test(_|$)/.test(name)) {
    throw new Error(`refusing to run tests against database "${name}": its name must contain "_test"`);
  }
}

const PASSWORD_VARS: Record<string, string> = {
  user_service: 'USER_SERVICE_DB_PASSWORD',
  tenant_service: 'TENANT_SERVICE_DB_PASSWORD',
  instance_service: 'INSTANCE_SERVICE_DB_PASSWORD',
  billing_service: 'BILLING_SERVICE_DB_PASSWORD',
};

export function requireEnv(name: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`${name} must be set for the tests (scripts/test.sh sets it)`);
  return value;
}

/** The environment a service gets in tests: its own role, its own *_test database, local Redis. */
export function serviceTestEnv(
  service: ServiceName,
  overrides: Record<string, string> = {},
): Record<string, string> {
  const { database, role } = SERVICE_DATABASES[service];
  const env: Record<string, string> = {
    NODE_ENV: 'test',
    LOG_LEVEL: 'warn',
    POSTGRES_HOST: process.env.POSTGRES_HOST ?? '127.0.0.1',
    POSTGRES_PORT: process.env.POSTGRES_PORT ?? '5432',
    POSTGRES_DB: `${database}${TEST_DB_SUFFIX}`,
    DB_SERVICE_USER: role,
    DB_SERVICE_PASSWORD: requireEnv(PASSWORD_VARS[role] ?? ''),
    REDIS_URL: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379',
    // @app/auth's authEnv: the service credential, and the tests' own Redis namespace for the token keys
    // (a dev stack on the same Redis republishes its keys under "auth:" and would invalidate test tokens).
    ...(process.env.INTERNAL_API_TOKEN ? { INTERNAL_API_TOKEN: process.env.INTERNAL_API_TOKEN } : {}),
    AUTH_REDIS_PREFIX: `auth${TEST_DB_SUFFIX}:`,
    ...overrides,
  };
  assertTestDatabase(env.POSTGRES_DB ?? '');
  return env;
}
