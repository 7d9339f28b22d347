import {
  addonListProblems,
  environmentVarProblems,
  isAllowedEnvVar,
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

  it('allows only ODOO_* and a documented few in environment_vars', () => {
    for (const name of [
      'BASH_ENV',
      'ENV',
      'LD_PRELOAD',
      'PYTHONPATH',
      'PYTHONWARNINGS',
      'HOST',
      'port',
      'User',
      'PASSWORD',
      'PGPASSWORD',
      'DB_HOST',
      'PATH',
      'SAASODOO_X',
      'odoo_workers',
      'ODOO_',
      'ODOO_RC',
      'ODOO_DATABASE_HOST',
      'ODOO_DB_PASSWORD',
      'ODOO_ADMIN_PASSWORD',
      'ODOO_A-B',
      `ODOO_${'X'.repeat(61)}`,
      'tz',
    ]) {
      expect({ name, allowed: isAllowedEnvVar(name) }).toEqual({ name, allowed: false });
    }
    for (const name of ['ODOO_WORKERS', 'ODOO_LOG_LEVEL', `ODOO_${'X'.repeat(60)}`, 'TZ', 'LANG', 'LC_ALL']) {
      expect({ name, allowed: isAllowedEnvVar(name) }).toEqual({ name, allowed: true });
    }
    expect(environmentVarProblems({ TZ: 'UTC', ODOO_WORKERS: '2' })).toEqual([]);
    expect(environmentVarProblems({ BASH_ENV: '/tmp/x' })).toEqual([expect.stringContaining('"BASH_ENV"')]);
    expect(environmentVarProblems({ TZ: 1 })).toHaveLength(1);
    expect(environmentVarProblems({ 'A-B': 'x' })).toHaveLength(1);
    expect(environmentVarProblems({ ODOO_A: 'x\0y' })).toHaveLength(1);
  });

  it('checks addon lists', () => {
    expect(addonListProblems(['web', 'web_responsive', 'Acme-1'])).toEqual([]);
    expect(addonListProblems(['web', 'web'])).toHaveLength(1);
    expect(addonListProblems(['a b', '', 3, null])).toHaveLength(4);
  });
});
