/**
 * With NODE_ENV=production a service (and the worker) refuses to start while a secret it reads is one the
 * project ships (.env.example, docker-compose.dev.yml): exit 1, naming the variables. The list of shipped
 * values is a TS constant in @app/config; the first tests keep it in step with those files.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import {
  assertNoShippedSecrets,
  SECRET_VARIABLES,
  SHIPPED_SECRET_VALUES,
  ShippedSecretError,
} from '@app/config';
import { ServiceName } from '@app/database';
import { freePort, serviceTestEnv } from '@app/testing';

const root = resolve(__dirname, '../..');
const SECRET_NAME = /(PASSWORD|SECRET|TOKEN)$|_SECRETS?_KEY$|ENCRYPTION_KEY$|SERVICE_ROLE_KEY$/;
const isSecret = (name: string) => SECRET_VARIABLES.includes(name) || SECRET_NAME.test(name);

function envExample(): [string, string][] {
  return readFileSync(resolve(root, '.env.example'), 'utf8')
    .split('\n')
    .map((line) => /^([A-Z0-9_]+)=(.*)$/.exec(line.trim()))
    .filter((match): match is RegExpExecArray => match !== null)
    .map(([, name, value]) => [name, value] as [string, string]);
}
const envExampleSecrets = () => envExample().filter(([name, value]) => isSecret(name) && value !== '');

/** Every `${NAME:-default}` in compose whose NAME is a secret, with its default. */
function composeSecretDefaults(): [string, string][] {
  const text = readFileSync(resolve(root, 'docker-compose.dev.yml'), 'utf8');
  return [...text.matchAll(/\$\{([A-Z0-9_]+):?-([^}]*)\}/g)]
    .map(([, name, value]) => [name, value] as [string, string])
    .filter(([name, value]) => isSecret(name) && value !== '');
}

describe('the list of shipped secrets', () => {
  it('holds every secret value of .env.example', () => {
    const secrets = envExampleSecrets();
    expect(secrets.map(([name]) => name)).toEqual(
      expect.arrayContaining(['INTERNAL_API_TOKEN', 'INSTANCE_SECRETS_KEY', 'USER_SERVICE_DB_PASSWORD']),
    );
    for (const [name, value] of secrets) {
      expect({ name, shipped: SHIPPED_SECRET_VALUES.has(value) }).toEqual({ name, shipped: true });
    }
  });

  it('holds every secret default of docker-compose.dev.yml', () => {
    for (const [name, value] of composeSecretDefaults()) {
      expect({ name, shipped: SHIPPED_SECRET_VALUES.has(value) }).toEqual({ name, shipped: true });
    }
  });

  it('names every variable holding one, the password inside REDIS_URL included, only in production', () => {
    const env = {
      INTERNAL_API_TOKEN: 'dev-internal-api-token-change-me-0123456789',
      DB_SERVICE_PASSWORD: 'user_service_dev_password',
      REDIS_URL: 'redis://:postgres_dev_password@redis:6379',
      INSTANCE_SECRETS_KEY: randomBytes(32).toString('base64'),
      SMTP_PASSWORD: '',
    };
    const config = { NODE_ENV: 'production', ...env };
    expect(() => assertNoShippedSecrets(config, env)).toThrow(ShippedSecretError);
    let error: unknown;
    try {
      assertNoShippedSecrets(config, env);
    } catch (thrown) {
      error = thrown;
    }
    expect((error as ShippedSecretError).variables.sort()).toEqual([
      'DB_SERVICE_PASSWORD',
      'INTERNAL_API_TOKEN',
      'REDIS_URL',
    ]);
    expect(() => assertNoShippedSecrets({ ...config, NODE_ENV: 'development' }, env)).not.toThrow();
    const fresh = {
      INTERNAL_API_TOKEN: randomBytes(32).toString('base64'),
      REDIS_URL: `redis://:${randomBytes(16).toString('hex')}@redis:6379`,
    };
    expect(() => assertNoShippedSecrets({ NODE_ENV: 'production', ...fresh }, fresh)).not.toThrow();
    // Only what the service reads (its config keys) counts.
    expect(() =>
      assertNoShippedSecrets({ NODE_ENV: 'production' }, { INTERNAL_API_TOKEN: env.INTERNAL_API_TOKEN }),
    ).not.toThrow();
  });
});

/** Runs a built app with `env` (nothing inherited but PATH) and returns its exit code and stderr. */
function runBuiltApp(service: ServiceName, env: Record<string, string>, timeoutMs = 20000) {
  const main = resolve(root, 'dist/apps', service, 'main.js');
  if (!existsSync(main)) throw new Error(`${main} is missing: run npm run build first (npm test does)`);
  return new Promise<{ code: number | null; stderr: string; killed: boolean }>((done) => {
    const child = spawn(process.execPath, [main], {
      env: { PATH: process.env.PATH ?? '', ...env },
      cwd: root,
    });
    let stderr = '';
    let killed = false;
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => {
      killed = true;
      child.kill('SIGKILL');
    }, timeoutMs);
    child.on('exit', (code) => {
      clearTimeout(timer);
      done({ code, stderr, killed });
    });
  });
}

const SERVICES: ServiceName[] = [
  'user-service',
  'tenant-service',
  'instance-service',
  'billing-service',
  'instance-worker',
];

/** The tests' environment for `service`: .env.example's values, i.e. shipped secrets. */
async function shippedEnv(service: ServiceName): Promise<Record<string, string>> {
  const fromExample = Object.fromEntries(envExample());
  return {
    ...fromExample,
    ...serviceTestEnv(service),
    PORT: String(await freePort()),
    NODE_ENV: 'production',
  };
}

describe.each(SERVICES)('%s with NODE_ENV=production', (service) => {
  it('exits 1 before connecting anywhere, naming the variables that hold shipped secrets', async () => {
    const result = await runBuiltApp(service, await shippedEnv(service));
    expect(result.killed).toBe(false);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(`${service}: NODE_ENV=production refuses secrets shipped`);
    expect(result.stderr).toMatch(/\bDB_SERVICE_PASSWORD\b/);
    // The worker holds the provisioner's password and the secrets key; the HTTP services the service token.
    if (service === 'instance-worker') {
      expect(result.stderr).toMatch(
        /\bODOO_PROVISIONER_PASSWORD\b.*\bINSTANCE_SECRETS_KEY\b|\bINSTANCE_SECRETS_KEY\b.*\bODOO_PROVISIONER_PASSWORD\b/,
      );
    } else {
      expect(result.stderr).toMatch(/\bINTERNAL_API_TOKEN\b/);
    }
    expect(result.stderr.trim().split('\n')).toHaveLength(1);
  });
});

describe('a service with fresh secrets under NODE_ENV=production', () => {
  it('passes the check (and goes on to connect with them)', async () => {
    const env = await shippedEnv('tenant-service');
    for (const name of Object.keys(env)) {
      if (isSecret(name)) env[name] = randomBytes(24).toString('base64url');
    }
    const result = await runBuiltApp('tenant-service', env, 8000);
    expect(result.stderr).not.toContain('refuses secrets shipped');
    // The fresh DB password is not the role's: the service got as far as logging in to Postgres.
    if (!result.killed) expect(result.stderr).toMatch(/password authentication failed|started/);
  });
});
