import {
  addonListProblems,
  environmentVarProblems,
  isForbiddenEnvVar,
  isReservedDatabaseName,
  resourceMinimumProblems,
  sizeInMiB,
  subdomainFromDatabaseName,
  subdomainProblem,
} from './instance-rules';

describe('instance rules', () => {
  it('reads sizes in MiB', () => {
    expect(sizeInMiB('512M')).toBe(512);
    expect(sizeInMiB('2G')).toBe(2048);
  });

  it("holds limits to the minimums an instance needs (ceilings are the plan's)", () => {
    expect(resourceMinimumProblems({ cpu_limit: 8, memory_limit: '16G', storage_limit: '100G' })).toEqual([]);
    expect(
      resourceMinimumProblems({ cpu_limit: 1, memory_limit: '255M', storage_limit: '1023M' }).map(
        (p) => p.field,
      ),
    ).toEqual(['memory_limit', 'storage_limit']);
  });

  it('reserves Postgres, original and platform database names', () => {
    for (const name of [
      'postgres',
      'template0',
      'information_schema',
      'auth',
      'tenant_test',
      'billing_x',
      'instance-1',
      'pg_x',
      'odoo_provisioner',
    ]) {
      expect({ name, reserved: isReservedDatabaseName(name) }).toEqual({ name, reserved: true });
    }
    for (const name of ['acme', 'acme_prod', 'authentic', 'my_billing']) {
      expect({ name, reserved: isReservedDatabaseName(name) }).toEqual({ name, reserved: false });
    }
  });

  it('derives a valid subdomain from any valid database name', () => {
    expect(subdomainFromDatabaseName('acme_prod')).toBe('acme-prod');
    expect(subdomainFromDatabaseName('a')).toBe('a-odoo');
    expect(subdomainFromDatabaseName('a__b')).toBe('a-b');
    expect(subdomainFromDatabaseName('api')).toBe('api-odoo');
    expect(subdomainFromDatabaseName('x'.repeat(50))).toHaveLength(50);
    for (const name of ['a', 'ab', 'a_', 'a-b_c', '1', 'x'.repeat(49) + '_y', 'www']) {
      expect({ name, problem: subdomainProblem(subdomainFromDatabaseName(name)) }).toEqual({
        name,
        problem: undefined,
      });
    }
  });

  it('keeps the database connection and platform secrets out of environment_vars', () => {
    for (const name of [
      'HOST',
      'port',
      'User',
      'PASSWORD',
      'PGPASSWORD',
      'PGHOST',
      'DB_HOST',
      'ODOO_RC',
      'ODOO_DATABASE_HOST',
      'PATH',
      'PASSWORD_FILE',
      'SAASODOO_X',
    ]) {
      expect({ name, forbidden: isForbiddenEnvVar(name) }).toEqual({ name, forbidden: true });
    }
    for (const name of ['ODOO_WORKERS', 'TZ', 'HOSTNAME_SUFFIX', 'MY_PASSWORD_HINT']) {
      expect({ name, forbidden: isForbiddenEnvVar(name) }).toEqual({ name, forbidden: false });
    }
    expect(environmentVarProblems({ TZ: 'UTC' })).toEqual([]);
    expect(environmentVarProblems({ TZ: 1 })).toHaveLength(1);
    expect(environmentVarProblems({ 'A-B': 'x' })).toHaveLength(1);
    expect(environmentVarProblems({ A: 'x\0y' })).toHaveLength(1);
  });

  it('checks addon lists', () => {
    expect(addonListProblems(['web', 'web_responsive', 'Acme-1'])).toEqual([]);
    expect(addonListProblems(['web', 'web'])).toHaveLength(1);
    expect(addonListProblems(['a b', '', 3, null])).toHaveLength(4);
  });
});
