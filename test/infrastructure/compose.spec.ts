/**
 * Static checks of the self-hosting stack: docker-compose.dev.yml, the Traefik and Prometheus configuration,
 * and the Kill Bill catalog/overdue XML. Nothing is started; the files are parsed and their invariants asserted.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { BILLING_PLAN_CEILINGS, BILLING_PLANS } from '@app/tenancy';

const root = join(__dirname, '..', '..');
const readText = (relative: string): string => readFileSync(join(root, relative), 'utf8');
const readYaml = (relative: string): unknown => parse(readText(relative), { merge: true });

// ------------------------------------------------------------------------------------------------------------
// Compose model (only the parts these tests read)
// ------------------------------------------------------------------------------------------------------------
type StringMap = Record<string, string>;

interface Healthcheck {
  test?: string | string[];
  disable?: boolean;
}

interface Service {
  image?: string;
  build?: { context?: string; dockerfile?: string; args?: StringMap };
  command?: string | string[];
  environment?: StringMap | string[];
  ports?: (string | { published?: string | number; target?: number; host_ip?: string })[];
  volumes?: (string | { type?: string; source?: string; target?: string; read_only?: boolean })[];
  depends_on?: string[] | Record<string, { condition?: string }>;
  healthcheck?: Healthcheck;
  labels?: StringMap | string[];
  networks?: string[] | Record<string, unknown>;
}

interface ComposeFile {
  services: Record<string, Service>;
  networks?: Record<string, { name?: string; internal?: boolean } | null>;
  volumes?: Record<string, unknown>;
}

const compose = readYaml('docker-compose.dev.yml') as ComposeFile;
const services = compose.services;

const APPS = [
  { name: 'user-service', prefix: '/user', hostPort: 8001, db: 'auth', dbUser: 'user_service' },
  { name: 'tenant-service', prefix: '/tenant', hostPort: 8002, db: 'tenant', dbUser: 'tenant_service' },
  {
    name: 'instance-service',
    prefix: '/instance',
    hostPort: 8003,
    db: 'instance',
    dbUser: 'instance_service',
  },
  { name: 'billing-service', prefix: '/billing', hostPort: 8004, db: 'billing', dbUser: 'billing_service' },
] as const;
const WORKER = 'instance-worker';
const PLATFORM_SERVICES = [...APPS.map((app) => app.name), WORKER];

/** What a .env sets for the variables compose requires (`${VAR:?…}`): none of them has a default. */
const REQUIRED_SECRETS = [
  'INTERNAL_API_TOKEN',
  'INSTANCE_SECRETS_KEY',
  'SIGNING_KEYS_ENCRYPTION_KEY',
  'POSTGRES_PASSWORD',
  'USER_SERVICE_DB_PASSWORD',
  'TENANT_SERVICE_DB_PASSWORD',
  'INSTANCE_SERVICE_DB_PASSWORD',
  'BILLING_SERVICE_DB_PASSWORD',
  'ODOO_PROVISIONER_PASSWORD',
  'ODOO_POSTGRES_PASSWORD',
  'REDIS_PASSWORD',
  'KILLBILL_DB_PASSWORD',
  'KILLBILL_PASSWORD',
  'KILLBILL_API_SECRET',
  'KILLBILL_WEBHOOK_SECRET',
  'GRAFANA_ADMIN_PASSWORD',
  'TRAEFIK_DASHBOARD_USERS',
];
const DOT_ENV: StringMap = Object.fromEntries(REQUIRED_SECRETS.map((name) => [name, `set-${name}`]));

/**
 * Compose-style interpolation with `env` as the environment (by default: a .env that sets every required
 * secret and nothing else): `${VAR:-default}` gives its default (nested references included), `${VAR:?msg}`
 * fails when VAR is unset, `$$` is a literal dollar. Anything else unresolved fails the test.
 */
function interpolate(value: string, env: StringMap = DOT_ENV): string {
  let out = '';
  let i = 0;
  while (i < value.length) {
    if (value.startsWith('$$', i)) {
      out += '$';
      i += 2;
    } else if (value.startsWith('${', i)) {
      let depth = 0;
      let end = i;
      for (let j = i; j < value.length; j++) {
        if (value[j] === '{') depth++;
        if (value[j] === '}' && --depth === 0) {
          end = j;
          break;
        }
      }
      if (end === i) throw new Error(`unterminated interpolation in ${value}`);
      const body = value.slice(i + 2, end);
      const match = /^([A-Za-z_][A-Za-z0-9_]*)(?:(:-|:\?)(.*))?$/s.exec(body);
      if (!match) throw new Error(`unsupported interpolation \${${body}}`);
      const [, name, operator, argument] = match;
      const set = env[name];
      if (set !== undefined && set !== '') out += set;
      else if (operator === ':-') out += interpolate(argument, env);
      else if (operator === ':?') throw new Error(`required variable ${name} is missing: ${argument}`);
      else throw new Error(`\${${name}} has no default`);
      i = end + 1;
    } else {
      out += value[i];
      i++;
    }
  }
  return out;
}

const asMap = (value: StringMap | string[] | undefined): StringMap => {
  if (!value) return {};
  if (!Array.isArray(value)) return value;
  return Object.fromEntries(
    value.map((entry) => {
      const eq = entry.indexOf('=');
      return eq < 0 ? [entry, ''] : [entry.slice(0, eq), entry.slice(eq + 1)];
    }),
  );
};
const envOf = (service: string): StringMap => asMap(services[service].environment);
const labelsOf = (service: string): StringMap => asMap(services[service].labels);

function volumeMounts(service: Service): { source: string; target: string; readOnly: boolean }[] {
  return (service.volumes ?? []).map((volume) => {
    if (typeof volume !== 'string') {
      return {
        source: volume.source ?? '',
        target: volume.target ?? '',
        readOnly: volume.read_only === true,
      };
    }
    const [source, target = '', mode = ''] = volume.split(':');
    return { source, target, readOnly: mode.split(',').includes('ro') };
  });
}
const mountsDockerSocket = (service: Service): boolean =>
  volumeMounts(service).some(
    (mount) => mount.source.endsWith('docker.sock') || mount.target.endsWith('docker.sock'),
  );

function publishedPorts(service: Service): { published: number; target: number }[] {
  return (service.ports ?? []).map((port) => {
    if (typeof port !== 'string') return { published: Number(port.published), target: Number(port.target) };
    const parts = interpolate(port).split(':');
    return { published: Number(parts[parts.length - 2]), target: Number(parts[parts.length - 1]) };
  });
}

// ------------------------------------------------------------------------------------------------------------
// A small evaluator for the subset of Traefik v3 rule syntax used here: Host, Path, PathPrefix, &&, ||, !, ()
// ------------------------------------------------------------------------------------------------------------
interface HttpRequest {
  host: string;
  path: string;
}
type Matcher = (request: HttpRequest) => boolean;

function compileRule(rule: string): Matcher {
  const tokens = rule.match(/&&|\|\||!|\(|\)|[A-Za-z]+\(`[^`]*`(?:\s*,\s*`[^`]*`)*\)|\S/g) ?? [];
  let position = 0;
  const peek = (): string | undefined => tokens[position];
  const expect = (token: string): void => {
    if (tokens[position++] !== token) throw new Error(`rule ${rule}: expected ${token}`);
  };
  const primary = (): Matcher => {
    const token = tokens[position++];
    if (token === '!') {
      const inner = primary();
      return (request) => !inner(request);
    }
    if (token === '(') {
      const inner = or();
      expect(')');
      return inner;
    }
    const call = token === undefined ? null : /^(Host|Path|PathPrefix)\(`([^`]*)`\)$/.exec(token);
    if (!call) throw new Error(`rule ${rule}: unsupported token ${token ?? '<end>'}`);
    const [, matcher, argument] = call;
    if (matcher === 'Host') return (request) => request.host.toLowerCase() === argument.toLowerCase();
    if (matcher === 'Path') return (request) => request.path === argument;
    return (request) => request.path.startsWith(argument);
  };
  const and = (): Matcher => {
    let left = primary();
    while (peek() === '&&') {
      position++;
      const [l, r] = [left, primary()];
      left = (request) => l(request) && r(request);
    }
    return left;
  };
  const or = (): Matcher => {
    let left = and();
    while (peek() === '||') {
      position++;
      const [l, r] = [left, and()];
      left = (request) => l(request) || r(request);
    }
    return left;
  };
  const matcher = or();
  if (position !== tokens.length) throw new Error(`rule ${rule}: trailing tokens`);
  return matcher;
}

interface Router {
  service: string;
  name: string;
  rule: Matcher;
  ruleText: string;
  middlewares: string[];
  target: string | undefined;
  entrypoints: string[];
}

const routers: Router[] = Object.keys(services).flatMap((service) => {
  const labels = labelsOf(service);
  if (labels['traefik.enable'] !== 'true') return [];
  return Object.keys(labels)
    .map((key) => /^traefik\.http\.routers\.([^.]+)\.rule$/.exec(key))
    .filter((match): match is RegExpExecArray => match !== null)
    .map(([key, name]) => ({
      service,
      name,
      ruleText: interpolate(labels[key]),
      rule: compileRule(interpolate(labels[key])),
      middlewares: (labels[`traefik.http.routers.${name}.middlewares`] ?? '').split(',').filter(Boolean),
      target: labels[`traefik.http.routers.${name}.service`],
      entrypoints: (labels[`traefik.http.routers.${name}.entrypoints`] ?? 'web').split(','),
    }));
});
/** The routers a request to the public entry point (`web`, port 80) reaches. */
const routesTo = (request: HttpRequest): Router[] =>
  routers.filter((router) => router.entrypoints.includes('web') && router.rule(request));

// ------------------------------------------------------------------------------------------------------------
// A minimal, strict XML reader (well-formedness only: nesting, attributes, entities, one root)
// ------------------------------------------------------------------------------------------------------------
interface XmlElement {
  name: string;
  attributes: StringMap;
  children: XmlElement[];
  text: string;
}

function parseXml(source: string): XmlElement {
  const token = /<!--[\s\S]*?-->|<\?[\s\S]*?\?>|<!\[CDATA\[[\s\S]*?\]\]>|<[^<>]*>|[^<]+/g;
  const stack: XmlElement[] = [];
  let rootElement: XmlElement | undefined;
  let position = 0;
  for (let match = token.exec(source); match; match = token.exec(source)) {
    if (match.index !== position) throw new Error(`stray markup at offset ${position}`);
    position = token.lastIndex;
    const text = match[0];
    if (text.startsWith('<!--')) {
      if (text.slice(4, -3).includes('--')) throw new Error('"--" inside a comment');
      continue;
    }
    if (text.startsWith('<?')) {
      if (match.index !== 0 || !text.startsWith('<?xml '))
        throw new Error('processing instruction is not the XML declaration');
      continue;
    }
    const current = stack[stack.length - 1];
    if (text.startsWith('<![CDATA[')) {
      if (!current) throw new Error('CDATA outside the root element');
      current.text += text.slice(9, -3);
      continue;
    }
    if (text.startsWith('</')) {
      const name = /^<\/([A-Za-z_][\w.:-]*)\s*>$/.exec(text)?.[1];
      const open = stack.pop();
      if (!name || !open || open.name !== name)
        throw new Error(`unexpected ${text} (open: ${open?.name ?? 'none'})`);
      continue;
    }
    if (text.startsWith('<')) {
      const tag =
        /^<([A-Za-z_][\w.:-]*)((?:\s+[A-Za-z_][\w.:-]*\s*=\s*(?:"[^"<]*"|'[^'<]*'))*)\s*(\/?)>$/.exec(text);
      if (!tag) throw new Error(`malformed tag ${text}`);
      const element: XmlElement = { name: tag[1], attributes: {}, children: [], text: '' };
      for (const [, key, double, single] of tag[2].matchAll(
        /([A-Za-z_][\w.:-]*)\s*=\s*(?:"([^"]*)"|'([^']*)')/g,
      )) {
        if (key in element.attributes) throw new Error(`duplicate attribute ${key} on <${tag[1]}>`);
        element.attributes[key] = double ?? single;
      }
      if (current) current.children.push(element);
      else if (rootElement) throw new Error('more than one root element');
      else rootElement = element;
      if (tag[3] !== '/') stack.push(element);
      continue;
    }
    if (/&(?!(?:amp|lt|gt|quot|apos|#\d+|#x[0-9a-fA-F]+);)/.test(text)) throw new Error('unescaped &');
    if (current) current.text += text;
    else if (text.trim() !== '') throw new Error('text outside the root element');
  }
  if (position !== source.length) throw new Error(`stray markup at offset ${position}`);
  if (stack.length > 0) throw new Error(`unclosed <${stack[stack.length - 1].name}>`);
  if (!rootElement) throw new Error('no root element');
  return rootElement;
}

const childrenNamed = (element: XmlElement, name: string): XmlElement[] =>
  element.children.filter((child) => child.name === name);
function child(element: XmlElement, path: string): XmlElement {
  return path.split('/').reduce((current, name) => {
    const found = childrenNamed(current, name);
    if (found.length !== 1) throw new Error(`<${current.name}> has ${found.length} <${name}>`);
    return found[0];
  }, element);
}
const textAt = (element: XmlElement, path: string): string => child(element, path).text.trim();

// ============================================================================================================
describe('docker-compose.dev.yml', () => {
  it('defines the whole stack', () => {
    for (const name of [
      'traefik',
      'postgres',
      'odoo-postgres',
      'redis',
      'killbill',
      'killbill-db',
      'kaui',
      'mailpit',
      'prometheus',
      'grafana',
      ...PLATFORM_SERVICES,
    ]) {
      expect(services[name]).toBeDefined();
    }
  });

  it('builds every app and the worker from the one Dockerfile with its own APP build arg', () => {
    for (const name of PLATFORM_SERVICES) {
      const build = services[name].build;
      expect(build?.dockerfile).toBe('infrastructure/docker/Dockerfile');
      expect(build?.args?.APP).toBe(name);
    }
    expect(existsSync(join(root, 'infrastructure/docker/Dockerfile'))).toBe(true);
  });

  it('gives each HTTP app its own database and login role; the worker shares instance_service', () => {
    const roles = APPS.map((app) => envOf(app.name).DB_SERVICE_USER);
    expect(roles).toEqual(APPS.map((app) => app.dbUser));
    expect(new Set(roles).size).toBe(APPS.length);
    const passwords = APPS.map((app) => envOf(app.name).DB_SERVICE_PASSWORD);
    expect(new Set(passwords).size).toBe(APPS.length);
    for (const app of APPS) {
      const env = envOf(app.name);
      expect(env.POSTGRES_DB).toBe(app.db);
      expect(env.POSTGRES_HOST).toBe('postgres');
      expect(interpolate(env.DB_SERVICE_PASSWORD)).not.toBe('');
    }
    const worker = envOf(WORKER);
    const instance = envOf('instance-service');
    expect(worker.DB_SERVICE_USER).toBe('instance_service');
    expect(worker.DB_SERVICE_PASSWORD).toBe(instance.DB_SERVICE_PASSWORD);
    expect(worker.POSTGRES_DB).toBe('instance');
  });

  it('uses the same passwords for the service roles as the Postgres init scripts get', () => {
    const postgres = envOf('postgres');
    const byRole: StringMap = {
      user_service: 'USER_SERVICE_DB_PASSWORD',
      tenant_service: 'TENANT_SERVICE_DB_PASSWORD',
      instance_service: 'INSTANCE_SERVICE_DB_PASSWORD',
      billing_service: 'BILLING_SERVICE_DB_PASSWORD',
    };
    for (const name of PLATFORM_SERVICES) {
      const env = envOf(name);
      expect(env.DB_SERVICE_PASSWORD).toBe(postgres[byRole[env.DB_SERVICE_USER]]);
    }
    expect(envOf(WORKER).ODOO_PROVISIONER_PASSWORD).toBe(envOf('odoo-postgres').ODOO_PROVISIONER_PASSWORD);
    expect(envOf(WORKER).ODOO_PROVISIONER_USER).toBe('odoo_provisioner');
  });

  it('never hands the cluster admin credentials to an app or the worker', () => {
    for (const name of PLATFORM_SERVICES) {
      const env = envOf(name);
      expect(Object.keys(env)).not.toContain('POSTGRES_USER');
      expect(Object.keys(env)).not.toContain('POSTGRES_PASSWORD');
      for (const value of Object.values(env)) {
        expect(String(value)).not.toMatch(/\$\{?POSTGRES_(USER|PASSWORD)\b/);
      }
      expect(['postgres', interpolate(envOf('postgres').POSTGRES_USER)]).not.toContain(env.DB_SERVICE_USER);
    }
  });

  it('mounts the Docker socket into the worker only (Traefik reads Docker through a read-only proxy)', () => {
    const withSocket = Object.keys(services).filter((name) => mountsDockerSocket(services[name]));
    expect(withSocket.sort()).toEqual(['docker-socket-proxy', WORKER].sort());
    const proxyMounts = volumeMounts(services['docker-socket-proxy']);
    expect(proxyMounts.every((mount) => mount.readOnly)).toBe(true);
    expect(envOf('docker-socket-proxy').POST).toBe('0');
    for (const app of APPS) expect(mountsDockerSocket(services[app.name])).toBe(false);
    expect(envOf(WORKER).DOCKER_HOST).toBe('unix:///var/run/docker.sock');
    // Compose is one host: the Docker placement backend (swarm: infrastructure/swarm/stack.yml).
    expect(envOf(WORKER).ORCHESTRATOR).toBe('docker');
  });

  it('runs every app on port 5000, published as 8001-8004; the worker publishes nothing', () => {
    for (const app of APPS) {
      expect(String(envOf(app.name).PORT)).toBe('5000');
      expect(publishedPorts(services[app.name])).toEqual([{ published: app.hostPort, target: 5000 }]);
    }
    expect(String(envOf(WORKER).PORT)).toBe('5000');
    expect(publishedPorts(services[WORKER])).toEqual([]);
  });

  it('points the apps at the compose services and at each other on port 5000', () => {
    for (const name of PLATFORM_SERVICES) {
      const env = envOf(name);
      expect(interpolate(env.REDIS_URL)).toBe('redis://:set-REDIS_PASSWORD@redis:6379');
      expect(env.SMTP_HOST).toBe('mailpit');
      expect(String(env.SMTP_PORT)).toBe('1025');
      for (const app of APPS) {
        const key = `${app.name.split('-')[0].toUpperCase()}_SERVICE_URL`;
        expect(env[key]).toBe(`http://${app.name}:5000`);
      }
      expect(interpolate(env.INTERNAL_API_TOKEN)).not.toBe('');
      expect(interpolate(env.BILLING_PROVIDER)).toBe('killbill');
    }
    const billing = envOf('billing-service');
    expect(billing.KILLBILL_URL).toBe('http://killbill:8080');
    expect(billing.KILLBILL_CALLBACK_URL).toBe('http://billing-service:5000/api/billing/webhooks/killbill');
    expect(interpolate(billing.KILLBILL_API_KEY)).toBe(interpolate(envOf('kaui').KAUI_KILLBILL_API_KEY));
    expect(interpolate(billing.KILLBILL_PASSWORD)).toBe(interpolate(envOf('killbill').KB_ADMIN_PASSWORD));
    // Payments: off unless configured; PayNow's result URL is the public billing route through Traefik.
    expect(interpolate(billing.PAYMENT_GATEWAY)).toBe('none');
    expect(interpolate(billing.PAYNOW_URL)).toBe('https://www.paynow.co.zw');
    expect(interpolate(billing.PAYNOW_RESULT_URL)).toBe(
      'http://api.localhost/billing/api/billing/webhooks/paynow',
    );
    expect(interpolate(billing.BILLING_RECHECK_INTERVAL_SECONDS)).toBe('30');
  });

  it('streams imports from instance-service to the worker over the network, through a volume of their own', () => {
    const example = readText('.env.example');
    const defaultOf = (name: string) => new RegExp(`^${name}=(.*)$`, 'm').exec(example)?.[1];
    const instance = envOf('instance-service');
    expect(interpolate(instance.INSTANCE_WORKER_URL)).toBe(`http://${WORKER}:5000`);
    expect(interpolate(instance.IMPORT_MAX_BYTES)).toBe(defaultOf('IMPORT_MAX_BYTES'));
    const mount = volumeMounts(services['instance-service']).find(
      (m) => m.target === instance.IMPORT_TMP_DIR,
    );
    expect(mount).toMatchObject({ source: 'instance-imports', readOnly: false });
    expect(compose.volumes).toHaveProperty('instance-imports');
    // The worker keeps the uploaded archive under BACKUP_DIR/imports, on its backups volume.
    expect(volumeMounts(services[WORKER]).map((m) => m.target)).toContain(envOf(WORKER).BACKUP_DIR);
  });

  it('passes the plan and storage settings of .env.example (MAX_TENANTS_PER_CUSTOMER, USAGE_INTERVAL_MS)', () => {
    const example = readText('.env.example');
    const defaultOf = (name: string) => new RegExp(`^${name}=(.*)$`, 'm').exec(example)?.[1];
    expect(interpolate(envOf('tenant-service').MAX_TENANTS_PER_CUSTOMER ?? '')).toBe(
      defaultOf('MAX_TENANTS_PER_CUSTOMER'),
    );
    expect(interpolate(envOf(WORKER).USAGE_INTERVAL_MS ?? '')).toBe(defaultOf('USAGE_INTERVAL_MS'));
  });

  it("passes every BACKUP_S3_* to the worker with .env.example's defaults (off-host copies off until a bucket is set)", () => {
    const example = readText('.env.example');
    const names = [...example.matchAll(/^(BACKUP_S3_[A-Z_]+)=(.*)$/gm)].map(([, name, value]) => ({
      name,
      value,
    }));
    expect(names.map((n) => n.name)).toEqual([
      'BACKUP_S3_BUCKET',
      'BACKUP_S3_ENDPOINT',
      'BACKUP_S3_REGION',
      'BACKUP_S3_ACCESS_KEY_ID',
      'BACKUP_S3_SECRET_ACCESS_KEY',
      'BACKUP_S3_PREFIX',
      'BACKUP_S3_FORCE_PATH_STYLE',
      'BACKUP_S3_RETRY_SECONDS',
    ]);
    const worker = envOf(WORKER);
    for (const { name, value } of names) {
      expect({ name, value: interpolate(worker[name] ?? '<missing>', {}) }).toEqual({ name, value });
    }
    expect(worker.BACKUP_S3_BUCKET).toBe('${BACKUP_S3_BUCKET:-}');
  });

  it('keeps Kill Bill test mode off unless asked for', () => {
    const env = envOf('killbill');
    expect(interpolate(env.KILLBILL_SERVER_TEST_MODE)).toBe('false');
    expect(interpolate(env.KILLBILL_SERVER_TEST_MODE, { KILLBILL_TEST_MODE: 'true' })).toBe('true');
  });

  it('gives every service a real healthcheck', () => {
    for (const [name, service] of Object.entries(services)) {
      const test = service.healthcheck?.test;
      expect({ name, disabled: service.healthcheck?.disable === true }).toEqual({ name, disabled: false });
      expect({
        name,
        hasTest: Array.isArray(test) ? test.length > 1 && test[0] !== 'NONE' : Boolean(test),
      }).toEqual({
        name,
        hasTest: true,
      });
    }
  });

  it('starts services only after their dependencies are healthy', () => {
    for (const [name, service] of Object.entries(services)) {
      const dependsOn = service.depends_on;
      if (dependsOn === undefined) continue;
      expect({ name, longSyntax: !Array.isArray(dependsOn) }).toEqual({ name, longSyntax: true });
      for (const [dependency, options] of Object.entries(
        dependsOn as Record<string, { condition?: string }>,
      )) {
        expect({ name, dependency, condition: options.condition }).toEqual({
          name,
          dependency,
          condition: 'service_healthy',
        });
        expect(services[dependency]?.healthcheck).toBeDefined();
      }
    }
    for (const name of PLATFORM_SERVICES) {
      expect(Object.keys(services[name].depends_on ?? {})).toEqual(
        expect.arrayContaining(['postgres', 'redis']),
      );
    }
  });

  it('runs Redis with the append-only file on and a password every app uses', () => {
    const command = services.redis.command;
    const text = Array.isArray(command) ? command.join(' ') : (command ?? '');
    expect(text).toMatch(/--appendonly yes\b/);
    // requirepass from the environment through the config on stdin (`redis-server -`), not in argv.
    expect(text).toContain('requirepass "$$REDIS_PASSWORD"');
    expect(text).toMatch(/redis-server - /);
    const redis = envOf('redis');
    expect(interpolate(redis.REDIS_PASSWORD)).toBe('set-REDIS_PASSWORD');
    expect(redis.REDISCLI_AUTH).toBe(redis.REDIS_PASSWORD);
    for (const name of PLATFORM_SERVICES) {
      const url = new URL(interpolate(envOf(name).REDIS_URL));
      expect({ name, password: url.password }).toEqual({ name, password: interpolate(redis.REDIS_PASSWORD) });
    }
  });

  it('has no default for any secret: compose refuses to start until .env sets each one', () => {
    const text = readText('docker-compose.dev.yml');
    const references = [...text.matchAll(/\$\{([A-Z0-9_]+)(:[-?])?/g)].map(([, name, operator]) => ({
      name,
      operator: operator ?? '',
    }));
    const secretNames = /(PASSWORD|SECRET|TOKEN|_KEY|_USERS)$/;
    // Optional secrets default to empty (the feature stays off until they are set), never to a value.
    // BACKUP_DOWNLOAD_SECRET: unset, backup downloads answer 503 (everything else works).
    // BACKUP_S3_SECRET_ACCESS_KEY: unset, no off-host copies (or the SDK's default credential chain).
    const OPTIONAL_SECRETS = [
      'PAYNOW_INTEGRATION_KEY',
      'BACKUP_DOWNLOAD_SECRET',
      'BACKUP_S3_SECRET_ACCESS_KEY',
    ];
    for (const name of OPTIONAL_SECRETS) expect(text).toContain(`\${${name}:-}`);
    const secrets = references.filter(
      ({ name }) => secretNames.test(name) && name !== 'KILLBILL_API_KEY' && !OPTIONAL_SECRETS.includes(name),
    );
    expect(new Set(secrets.map(({ name }) => name))).toEqual(new Set(REQUIRED_SECRETS));
    for (const reference of secrets) expect(reference).toEqual({ name: reference.name, operator: ':?' });
    for (const name of REQUIRED_SECRETS) {
      const missing = Object.fromEntries(Object.entries(DOT_ENV).filter(([key]) => key !== name));
      const failures = Object.entries(services).flatMap(([service, definition]) =>
        Object.values(asMap(definition.environment)).flatMap((value) => {
          try {
            interpolate(String(value), missing);
            return [];
          } catch (error) {
            return [`${service}: ${(error as Error).message}`];
          }
        }),
      );
      expect({
        name,
        refused: failures.some((f) => f.includes(`required variable ${name} is missing`)),
      }).toEqual({ name, refused: true });
    }
  });

  it('trusts X-Forwarded-For only from the platform network, where Traefik reaches the apps', () => {
    const subnet = (compose.networks?.platform as { ipam?: { config?: { subnet?: string }[] } } | undefined)
      ?.ipam?.config?.[0]?.subnet;
    expect(subnet).toBeDefined();
    expect(interpolate(subnet ?? '')).toMatch(/^\d+\.\d+\.\d+\.\d+\/\d+$/);
    for (const name of PLATFORM_SERVICES) expect(envOf(name).TRUSTED_PROXIES).toBe(subnet);
    expect(services.traefik.networks).toEqual(expect.arrayContaining(['platform']));
  });

  it('mounts the Postgres init scripts and passes them every role password', () => {
    const postgres = services.postgres;
    expect(volumeMounts(postgres)).toContainEqual({
      source: './infrastructure/postgres/initdb',
      target: '/docker-entrypoint-initdb.d',
      readOnly: true,
    });
    expect(existsSync(join(root, 'infrastructure/postgres/initdb'))).toBe(true);
    const env = envOf('postgres');
    for (const key of [
      'USER_SERVICE_DB_PASSWORD',
      'TENANT_SERVICE_DB_PASSWORD',
      'INSTANCE_SERVICE_DB_PASSWORD',
      'BILLING_SERVICE_DB_PASSWORD',
      'ODOO_PROVISIONER_PASSWORD',
      'POSTGRES_USER',
      'POSTGRES_PASSWORD',
    ]) {
      expect(interpolate(env[key] ?? '')).not.toBe('');
    }
    const healthcheck = services.postgres.healthcheck?.test;
    expect(Array.isArray(healthcheck) ? healthcheck.join(' ') : healthcheck).toContain('pg_isready');
  });

  it('declares the network the worker puts Odoo containers on, with a fixed name', () => {
    expect(compose.networks?.odoo?.name).toBe('saasodoo-odoo');
    expect(envOf(WORKER).ODOO_NETWORK).toBe('saasodoo-odoo');
    for (const name of ['traefik', 'odoo-postgres', WORKER]) {
      expect(services[name].networks).toEqual(expect.arrayContaining(['odoo']));
    }
  });

  it('gives the Odoo instances their own Postgres server, accepting only odoo_* roles over TCP', () => {
    // The platform's Postgres is not on any network an Odoo container joins.
    expect(services.postgres.networks).toEqual(['platform']);
    expect(services['odoo-postgres'].networks).toEqual(['odoo']);
    const worker = envOf(WORKER);
    expect(worker.ODOO_DB_HOST).toBe('odoo-postgres');
    expect(worker.TENANT_NETWORK_PEERS.split(',')).toEqual(['traefik', 'odoo-postgres']);
    expect(volumeMounts(services['odoo-postgres'])).toContainEqual({
      source: './infrastructure/postgres/odoo-initdb',
      target: '/docker-entrypoint-initdb.d',
      readOnly: true,
    });
    expect(interpolate(envOf('odoo-postgres').POSTGRES_PASSWORD)).toBe('set-ODOO_POSTGRES_PASSWORD');
    const init = readText('infrastructure/postgres/odoo-initdb/10-odoo.sh');
    const hba = /cat > "\$PGDATA\/pg_hba.conf" <<'HBA'\n([\s\S]*?)\nHBA/.exec(init)?.[1] ?? '';
    const rules = hba
      .split('\n')
      .filter((line) => line.trim() !== '' && !line.startsWith('#'))
      .map((line) => line.trim().split(/\s+/));
    expect(rules).toEqual([
      ['local', 'all', 'all', 'trust'],
      ['host', 'all', '/^odoo_', 'samenet', 'scram-sha-256'],
      ['host', 'all', 'all', 'all', 'reject'],
    ]);
    expect(init).toMatch(/CREATE ROLE odoo_provisioner/);
  });
});

describe('Traefik routing', () => {
  const host = 'api.localhost';

  it.each(APPS)('routes $prefix to $name on port 5000 with the prefix stripped', (app) => {
    const labels = labelsOf(app.name);
    const own = routers.filter((router) => router.service === app.name && router.name !== 'api-reference');
    expect(own).toHaveLength(1);
    const [router] = own;
    expect(router.ruleText).toContain(`PathPrefix(\`${app.prefix}/\`)`);
    expect(router.ruleText).toContain('Host(`api.localhost`)');
    expect(labels[`traefik.http.services.${router.target}.loadbalancer.server.port`]).toBe('5000');
    const strip = router.middlewares.find(
      (middleware) => labels[`traefik.http.middlewares.${middleware}.stripprefix.prefixes`],
    );
    expect(strip).toBeDefined();
    expect(labels[`traefik.http.middlewares.${strip}.stripprefix.prefixes`]).toBe(app.prefix);
    expect(router.middlewares.indexOf(strip ?? '')).toBe(0);
    expect(labels['traefik.docker.network']).toBe(compose.networks?.platform?.name);

    expect(routesTo({ host, path: `${app.prefix}/health` }).map((r) => r.service)).toEqual([app.name]);
    expect(routesTo({ host, path: `${app.prefix}/api/v1/things` }).map((r) => r.service)).toEqual([app.name]);
    expect(routesTo({ host, path: app.prefix }).map((r) => r.service)).toEqual([app.name]);
    expect(routesTo({ host, path: `${app.prefix}x/health` })).toEqual([]);
    expect(routesTo({ host: 'elsewhere.example', path: `${app.prefix}/health` })).toEqual([]);
  });

  it.each(APPS)('never routes $prefix/internal or $prefix/metrics', (app) => {
    for (const path of [
      `${app.prefix}/internal`,
      `${app.prefix}/internal/`,
      `${app.prefix}/internal/instances/1/desired-state`,
      `${app.prefix}/metrics`,
    ]) {
      expect({ path, routers: routesTo({ host, path }).map((r) => r.name) }).toEqual({ path, routers: [] });
    }
  });

  it('routes only signed backup downloads to the worker, at the base instance-service puts in its links', () => {
    const labels = labelsOf(WORKER);
    const [router, ...others] = routers.filter((r) => r.service === WORKER);
    expect(others).toEqual([]);
    expect(router?.name).toBe('backup-downloads');
    expect(router?.middlewares[0]).toBe('backup-downloads-strip');
    expect(labels['traefik.http.middlewares.backup-downloads-strip.stripprefix.prefixes']).toBe('/downloads');
    expect(labels[`traefik.http.services.${router?.target}.loadbalancer.server.port`]).toBe('5000');
    expect(labels['traefik.docker.network']).toBe(compose.networks?.platform?.name);
    const download = '/downloads/backups/6f1c2d9e-0000-4000-8000-000000000001/download';
    expect(routesTo({ host, path: download }).map((r) => r.name)).toEqual(['backup-downloads']);
    for (const path of [
      '/downloads/health/ready',
      '/downloads/metrics',
      '/downloads',
      '/backups/x/download',
    ]) {
      expect({ path, routers: routesTo({ host, path }).map((r) => r.name) }).toEqual({ path, routers: [] });
    }
    // The links instance-service signs start with that public base (the .env.example value is empty).
    expect(interpolate(envOf('instance-service').BACKUP_DOWNLOAD_URL)).toBe('http://api.localhost/downloads');
  });

  it('routes /docs and /docs/json on the API host to the merged reference user-service serves at /reference/docs', () => {
    const labels = labelsOf('user-service');
    const [router] = routers.filter((r) => r.name === 'api-reference');
    expect(router?.target).toBe('user-service');
    expect(router?.middlewares[0]).toBe('api-reference-prefix');
    expect(labels['traefik.http.middlewares.api-reference-prefix.addprefix.prefix']).toBe('/reference');
    for (const path of ['/docs', '/docs/json', '/docs/swagger-ui.css']) {
      expect(routesTo({ host, path }).map((r) => r.name)).toEqual(['api-reference']);
    }
    expect(routesTo({ host, path: '/docsx' })).toEqual([]);
  });

  it('follows the host in BASE_DOMAIN', () => {
    const labels = labelsOf('user-service');
    const rule = compileRule(
      interpolate(labels['traefik.http.routers.user-service.rule'], { BASE_DOMAIN: 'example.org' }),
    );
    expect(rule({ host: 'api.example.org', path: '/user/health' })).toBe(true);
    expect(rule({ host: 'api.localhost', path: '/user/health' })).toBe(false);
  });

  it('serves the dashboard through a router with authentication, not through api.insecure', () => {
    const staticConfig = readYaml('infrastructure/traefik/traefik.yml') as {
      api?: { dashboard?: boolean; insecure?: boolean };
      entryPoints?: Record<string, { address?: string }>;
      providers?: {
        docker?: { exposedByDefault?: boolean; network?: string };
        file?: { directory?: string };
      };
      ping?: unknown;
    };
    expect(staticConfig.api?.dashboard).toBe(true);
    expect(staticConfig.api?.insecure).not.toBe(true);
    expect(staticConfig.entryPoints?.web?.address).toBe(':80');
    expect(staticConfig.providers?.docker?.exposedByDefault).toBe(false);
    expect(staticConfig.providers?.docker?.network).toBe('saasodoo-odoo');
    expect(staticConfig.providers?.file?.directory).toBe('/etc/traefik/dynamic');
    expect(staticConfig.ping).toBeDefined();

    const dashboard = routers.find((router) => router.target === 'api@internal');
    expect(dashboard?.entrypoints).toEqual(['dashboard']);
    expect(dashboard?.middlewares).toContain('dashboard-auth@file');
    // Its entry point is published on the loopback interface only; the public port 80 never serves it.
    expect((staticConfig.entryPoints as Record<string, { address?: string }>).dashboard?.address).toBe(
      ':8080',
    );
    const dashboardPorts = (services.traefik.ports ?? []).filter(
      (port) => typeof port === 'string' && port.endsWith(':8080'),
    );
    expect(dashboardPorts).toHaveLength(1);
    expect(interpolate(String(dashboardPorts[0]))).toMatch(/^127\.0\.0\.1:\d+:8080$/);
    expect(routesTo({ host: 'traefik.localhost', path: '/dashboard/' })).toEqual([]);
    expect(routesTo({ host: 'api.localhost', path: '/api/rawdata' })).toEqual([]);
    // No fallback account (it used to be admin/admin): compose requires TRAEFIK_DASHBOARD_USERS.
    expect(envOf('traefik').DASHBOARD_BASIC_AUTH_USERS).toMatch(/^\$\{TRAEFIK_DASHBOARD_USERS:\?/);

    const dynamic = readText('infrastructure/traefik/dynamic/middlewares.yml');
    expect(dynamic).not.toMatch(/\bdefault\b\s*"/);
    const rendered = dynamic.replace(/\{\{ env "DASHBOARD_BASIC_AUTH_USERS" \}\}/g, 'user:hash');
    const middlewares = (
      parse(rendered) as { http: { middlewares: Record<string, Record<string, unknown>> } }
    ).http.middlewares;
    const referenced = routers
      .flatMap((router) => router.middlewares)
      .filter((name) => name.endsWith('@file'));
    for (const name of referenced) expect(middlewares[name.replace(/@file$/, '')]).toBeDefined();
    expect(middlewares['dashboard-auth'].basicAuth).toBeDefined();
  });
});

describe('the customer portal (app.<BASE_DOMAIN>)', () => {
  const app = 'app.localhost';
  /** What Traefik picks among matching routers: the highest priority, by default the longest rule. */
  const winner = (request: HttpRequest): string | undefined => {
    const priority = (router: Router) =>
      Number(
        labelsOf(router.service)[`traefik.http.routers.${router.name}.priority`] ?? router.ruleText.length,
      );
    return routesTo(request).sort((a, b) => priority(b) - priority(a))[0]?.service;
  };

  it('is built from its own Dockerfile (the repository build, then static files on unprivileged nginx)', () => {
    const portal = services.portal;
    expect(portal.build).toEqual({ context: '.', dockerfile: 'infrastructure/portal/Dockerfile' });
    const dockerfile = readText('infrastructure/portal/Dockerfile');
    expect(dockerfile).toMatch(/RUN npm run build && test -f apps\/portal\/dist\/index\.html/);
    expect(dockerfile).toMatch(/^FROM nginxinc\/nginx-unprivileged:[\d.]+-alpine AS runtime$/m);
    expect(dockerfile).toContain('COPY --from=build /app/apps/portal/dist /usr/share/nginx/html');
    const nginx = readText('infrastructure/portal/nginx.conf');
    expect(nginx).toContain('listen 8080;');
    expect(nginx).toMatch(/try_files \$uri \/index\.html;/);
    expect(nginx).toMatch(/location ~ \^\/\(user\|tenant\|instance\|billing\)\(\/\|\$\) \{\s*return 404;/);
    expect(labelsOf('portal')['traefik.http.services.portal.loadbalancer.server.port']).toBe('8080');
    expect(portal.healthcheck?.test).toEqual([
      'CMD',
      'wget',
      '-q',
      '-O',
      '/dev/null',
      'http://127.0.0.1:8080/healthz',
    ]);
    expect(portal.ports ?? []).toEqual([]);
  });

  it('serves every page path of app.<BASE_DOMAIN> from the portal, and nothing on the API host', () => {
    for (const path of ['/', '/login', '/verify-email', '/instances/42/logs', '/assets/index-1a2b.js']) {
      expect({ path, to: winner({ host: app, path }) }).toEqual({ path, to: 'portal' });
      expect(routesTo({ host: 'api.localhost', path }).map((r) => r.service)).not.toContain('portal');
    }
    expect(routesTo({ host: 'elsewhere.example', path: '/' })).toEqual([]);
  });

  it.each(APPS)(
    'routes $prefix on the portal host to $name with the same prefix strip (no CORS needed)',
    (spec) => {
      for (const path of [`${spec.prefix}/health`, `${spec.prefix}/api/v1/things`, spec.prefix]) {
        expect({ path, to: winner({ host: app, path }) }).toEqual({ path, to: spec.name });
      }
      const [router] = routers.filter((r) => r.service === spec.name && r.name !== 'api-reference');
      expect(
        labelsOf(spec.name)[`traefik.http.middlewares.${router!.middlewares[0]}.stripprefix.prefixes`],
      ).toBe(spec.prefix);
      // Never the internal API or the metrics: those fall to the portal, whose nginx answers 404 for them.
      for (const path of [`${spec.prefix}/internal/x`, `${spec.prefix}/metrics`]) {
        expect({ path, to: winner({ host: app, path }) }).toEqual({ path, to: 'portal' });
      }
    },
  );

  it('points email links at the portal (PORTAL_URL), and .env.example documents PORTAL_URL and PORTAL_PORT', () => {
    for (const name of PLATFORM_SERVICES) {
      expect({ name, url: interpolate(envOf(name).PORTAL_URL) }).toEqual({
        name,
        url: 'http://app.localhost',
      });
    }
    expect(interpolate(envOf('user-service').PORTAL_URL, { ...DOT_ENV, BASE_DOMAIN: 'example.org' })).toBe(
      'http://app.example.org',
    );
    const example = readText('.env.example');
    expect(example).toMatch(/^PORTAL_URL=/m);
    expect(example).toMatch(/^PORTAL_PORT=3000$/m);
  });
});

describe('Prometheus', () => {
  it('scrapes every app and the worker at <service>:5000/metrics, one job per service', () => {
    const config = readYaml('infrastructure/prometheus/prometheus.yml') as {
      scrape_configs: { job_name: string; metrics_path?: string; static_configs: { targets: string[] }[] }[];
    };
    for (const name of PLATFORM_SERVICES) {
      const job = config.scrape_configs.find((scrape) => scrape.job_name === name);
      expect(job?.static_configs.flatMap((s) => s.targets)).toEqual([`${name}:5000`]);
      expect(job?.metrics_path ?? '/metrics').toBe('/metrics');
    }
  });

  it('has a provisioned dashboard that queries the request and job histograms', () => {
    const dashboard = JSON.parse(readText('infrastructure/grafana/dashboards/platform.json')) as {
      panels: { targets?: { expr: string }[] }[];
    };
    const queries = dashboard.panels.flatMap((panel) => panel.targets ?? []).map((target) => target.expr);
    expect(
      queries.some((q) => q.includes('http_request_duration_seconds_bucket') && q.includes('0.99')),
    ).toBe(true);
    expect(queries.some((q) => q.includes('status_code=~"5.."'))).toBe(true);
    expect(queries.some((q) => q.includes('lifecycle_job_duration_seconds'))).toBe(true);
  });
});

// ============================================================================================================
describe('Kill Bill catalog.xml', () => {
  const catalog = parseXml(readText('infrastructure/killbill/catalog.xml'));

  const PLANS = [
    { name: 'basic-immediate', product: 'Basic', trialDays: null, monthly: '5.00' },
    { name: 'basic-monthly', product: 'Basic', trialDays: 14, monthly: '5.00' },
    { name: 'standard-monthly', product: 'Standard', trialDays: 14, monthly: '8.00' },
    { name: 'premium-monthly', product: 'Premium', trialDays: 14, monthly: '10.00' },
    { name: 'basic-test-trial', product: 'Basic', trialDays: 1, monthly: '5.00' },
  ];

  it('is a well-formed catalog with the required top-level elements in schema order', () => {
    expect(catalog.name).toBe('catalog');
    const order = catalog.children.map((element) => element.name);
    expect(order).toEqual([
      'effectiveDate',
      'catalogName',
      'currencies',
      'products',
      'rules',
      'plans',
      'priceLists',
    ]);
    expect(textAt(catalog, 'effectiveDate')).toMatch(
      /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(Z|[+-]\d{2}:\d{2})$/,
    );
    expect(childrenNamed(child(catalog, 'currencies'), 'currency').map((c) => c.text.trim())).toEqual([
      'USD',
    ]);
  });

  it('defines the five plans, their trials and monthly USD prices', () => {
    const plans = childrenNamed(child(catalog, 'plans'), 'plan');
    expect(plans.map((plan) => plan.attributes.name)).toEqual(PLANS.map((plan) => plan.name));
    const products = childrenNamed(child(catalog, 'products'), 'product').map((p) => p.attributes.name);
    for (const expected of PLANS) {
      const plan = plans.find((p) => p.attributes.name === expected.name) as XmlElement;
      expect(textAt(plan, 'product')).toBe(expected.product);
      expect(products).toContain(expected.product);
      const initial = childrenNamed(plan, 'initialPhases');
      if (expected.trialDays === null) {
        expect(initial).toEqual([]);
      } else {
        const phases = childrenNamed(initial[0], 'phase');
        expect(phases).toHaveLength(1);
        expect(phases[0].attributes.type).toBe('TRIAL');
        expect(textAt(phases[0], 'duration/unit')).toBe('DAYS');
        expect(Number(textAt(phases[0], 'duration/number'))).toBe(expected.trialDays);
        expect(Number(textAt(phases[0], 'fixed/fixedPrice/price/value'))).toBe(0);
      }
      const final = child(plan, 'finalPhase');
      expect(final.attributes.type).toBe('EVERGREEN');
      expect(textAt(final, 'duration/unit')).toBe('UNLIMITED');
      expect(textAt(final, 'recurring/billingPeriod')).toBe('MONTHLY');
      expect(textAt(final, 'recurring/recurringPrice/price/currency')).toBe('USD');
      expect(textAt(final, 'recurring/recurringPrice/price/value')).toBe(expected.monthly);
    }
  });

  it('gives every catalog plan its ceilings in the one plan table (@app/tenancy)', () => {
    const plans = childrenNamed(child(catalog, 'plans'), 'plan').map((p) => p.attributes.name);
    expect([...plans].sort()).toEqual([...BILLING_PLANS].sort());
    for (const plan of BILLING_PLANS) {
      expect(BILLING_PLAN_CEILINGS[plan]).toEqual({
        max_instances: expect.any(Number),
        cpu_limit: expect.any(Number),
        memory_limit: expect.stringMatching(/^[1-9][0-9]*[MG]$/),
        storage_limit: expect.stringMatching(/^[1-9][0-9]*[MG]$/),
      });
    }
  });

  it('lists every plan in the DEFAULT price list', () => {
    const list = child(catalog, 'priceLists/defaultPriceList');
    expect(list.attributes.name).toBe('DEFAULT');
    expect(childrenNamed(child(list, 'plans'), 'plan').map((p) => p.text.trim())).toEqual(
      PLANS.map((p) => p.name),
    );
  });
});

describe('Kill Bill overdue.xml', () => {
  const overdue = parseXml(readText('infrastructure/killbill/overdue.xml'));
  const account = child(overdue, 'accountOverdueStates');
  const states = childrenNamed(account, 'state');
  const days = (state: XmlElement): number =>
    Number(textAt(state, 'condition/timeSinceEarliestUnpaidInvoiceEqualsOrExceeds/number'));

  it('is well-formed and lists the states most severe first', () => {
    expect(overdue.name).toBe('overdueConfig');
    expect(account.children[0].name).toBe('initialReevaluationInterval');
    expect(states.map((state) => state.attributes.name)).toEqual(['CANCELLATION', 'BLOCKED', 'WARNING']);
    const thresholds = states.map(days);
    expect([...thresholds].sort((a, b) => b - a)).toEqual(thresholds);
  });

  it('blocks entitlement from BLOCKED on, and only warns before', () => {
    const flag = (name: string, element: string): string =>
      textAt(states.find((state) => state.attributes.name === name) as XmlElement, element);
    expect(flag('WARNING', 'disableEntitlementAndChangesBlocked')).toBe('false');
    expect(flag('WARNING', 'blockChanges')).toBe('true');
    for (const name of ['BLOCKED', 'CANCELLATION']) {
      expect(flag(name, 'blockChanges')).toBe('true');
      expect(flag(name, 'disableEntitlementAndChangesBlocked')).toBe('true');
    }
    expect(flag('CANCELLATION', 'subscriptionCancellationPolicy')).toBe('END_OF_TERM');
  });

  it('keeps the element order of the overdue state model', () => {
    const modelOrder = [
      'condition',
      'externalMessage',
      'blockChanges',
      'disableEntitlementAndChangesBlocked',
      'subscriptionCancellationPolicy',
      'isClearState',
      'autoReevaluationInterval',
      'enterStateEmailNotification',
    ];
    for (const state of states) {
      const indexes = state.children.map((element) => modelOrder.indexOf(element.name));
      expect(indexes).not.toContain(-1);
      expect([...indexes].sort((a, b) => a - b)).toEqual(indexes);
    }
  });
});

describe('the minimal XML reader used above', () => {
  it.each([
    ['<a><b></a></b>', /unexpected/],
    ['<a>', /unclosed/],
    ['<a></a><b></b>', /more than one root/],
    ['<a x="1" x="2"></a>', /duplicate attribute/],
    ['<a>fish & chips</a>', /unescaped &/],
    ['<a><b</a>', /stray markup|malformed/],
  ])('rejects %s', (source, error) => {
    expect(() => parseXml(source)).toThrow(error);
  });
});
