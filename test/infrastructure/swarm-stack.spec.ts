/**
 * Static checks of infrastructure/swarm/stack.yml (`docker stack deploy`): nothing is deployed; the file is
 * parsed and what the swarm deployment relies on is asserted.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { parse } from 'yaml';
import { isSecretName } from '@app/config';

const root = join(__dirname, '..', '..');
const stackPath = 'infrastructure/swarm/stack.yml';

interface StackService {
  image?: string;
  environment?: Record<string, string>;
  secrets?: string[];
  configs?: { source: string; target: string }[];
  networks?: string[];
  volumes?: string[];
  ports?: { target: number; published: string | number; mode?: string }[];
  deploy?: {
    placement?: { constraints?: string[] };
    labels?: Record<string, string>;
    restart_policy?: { condition?: string };
  };
  build?: unknown;
}

interface StackFile {
  services: Record<string, StackService>;
  networks: Record<string, { driver?: string; attachable?: boolean; internal?: boolean }>;
  secrets: Record<string, { external?: boolean; file?: string }>;
  configs: Record<string, { file: string }>;
}

const stack = parse(readFileSync(join(root, stackPath), 'utf8'), { merge: true }) as StackFile;
const services = stack.services;
const APPS = ['user-service', 'tenant-service', 'instance-service', 'billing-service', 'instance-worker'];

describe('infrastructure/swarm/stack.yml', () => {
  it('deploys the whole platform: edge, data stores, the four services and the worker', () => {
    for (const name of ['traefik', 'postgres', 'odoo-postgres', 'redis', 'mailpit', ...APPS]) {
      expect(services[name]).toBeDefined();
    }
    // A stack is deployed from images: nothing is built, nothing is compose-only.
    for (const [name, service] of Object.entries(services)) {
      expect({ name, build: service.build }).toEqual({ name, build: undefined });
      expect(service.image).toBeTruthy();
    }
  });

  it('runs the worker with ORCHESTRATOR=swarm and the engine socket, Traefik with its swarm provider, both on managers', () => {
    const worker = services['instance-worker'];
    expect(worker?.environment).toMatchObject({
      ORCHESTRATOR: 'swarm',
      DOCKER_HOST: 'unix:///var/run/docker.sock',
      // The image of the jobs that remove a volume on another node (migrate, purge).
      SWARM_NODE_TOOLS_IMAGE: '${SWARM_NODE_TOOLS_IMAGE:-docker:27-cli}',
    });
    expect(worker?.volumes).toContain('/var/run/docker.sock:/var/run/docker.sock');
    for (const name of ['instance-worker', 'traefik']) {
      expect(services[name]?.deploy?.placement?.constraints).toContain('node.role == manager');
    }
    const traefikStatic = parse(readFileSync(join(root, 'infrastructure/swarm/traefik.yml'), 'utf8')) as {
      providers: { swarm?: { exposedByDefault?: boolean; network?: string }; docker?: unknown };
    };
    expect(traefikStatic.providers.swarm).toMatchObject({
      exposedByDefault: false,
      network: 'saasodoo_platform',
    });
    expect(traefikStatic.providers.docker).toBeUndefined();
    expect(services.traefik?.configs?.map((c) => c.target)).toContain('/etc/traefik/traefik.yml');
  });

  it('keeps secrets out of the environment: every secret variable is a *_FILE naming a declared Docker secret', () => {
    const problems: string[] = [];
    for (const [name, service] of Object.entries(services)) {
      for (const [key, value] of Object.entries(service.environment ?? {})) {
        if (key.endsWith('_FILE')) {
          const match = /^\/run\/secrets\/([a-z0-9_]+)$/.exec(String(value));
          const secret = match?.[1];
          if (!secret) problems.push(`${name}: ${key} is not /run/secrets/<name>`);
          else if (!service.secrets?.includes(secret))
            problems.push(`${name}: ${key} uses ${secret}, not granted`);
          else if (!stack.secrets[secret]?.external)
            problems.push(`${name}: secret ${secret} is not declared external`);
        } else if (isSecretName(key) && !/_(USER|USERNAME|API_KEY)$/.test(key)) {
          problems.push(`${name}: ${key} is a secret in the environment`);
        }
        if (/\$\{[A-Z_]*(PASSWORD|SECRET|TOKEN)[A-Z_]*/.test(String(value))) {
          problems.push(`${name}: ${key} interpolates a secret`);
        }
      }
    }
    expect(problems).toEqual([]);
    // Every declared secret is used by some service.
    const used = new Set(Object.values(services).flatMap((s) => s.secrets ?? []));
    expect(Object.keys(stack.secrets).filter((s) => !used.has(s))).toEqual([]);
  });

  it('publishes only Traefik, routes the APIs by service labels, and uses overlay networks', () => {
    const published = Object.entries(services)
      .filter(([, s]) => (s.ports ?? []).length > 0)
      .map(([n]) => n);
    expect(published).toEqual(['traefik']);
    for (const app of APPS.filter((a) => a !== 'instance-worker')) {
      const labels = services[app]?.deploy?.labels ?? {};
      expect(labels['traefik.enable']).toBe('true');
      expect(Object.keys(labels).some((k) => k.endsWith('.loadbalancer.server.port'))).toBe(true);
    }
    for (const [name, network] of Object.entries(stack.networks)) {
      expect({ name, driver: network.driver }).toEqual({ name, driver: 'overlay' });
    }
    expect(stack.networks.odoo?.attachable).toBe(true);
  });

  it('routes only backup downloads to the worker, at the base instance-service signs its links with', () => {
    const labels = services['instance-worker']?.deploy?.labels ?? {};
    const rules = Object.entries(labels).filter(([key]) => /^traefik\.http\.routers\.[^.]+\.rule$/.test(key));
    expect(rules).toEqual([
      [
        'traefik.http.routers.backup-downloads.rule',
        'Host(`api.${BASE_DOMAIN:-localhost}`) && PathPrefix(`/downloads/backups/`)',
      ],
    ]);
    expect(labels['traefik.http.middlewares.backup-downloads-strip.stripprefix.prefixes']).toBe('/downloads');
    expect(services['instance-service']?.environment?.BACKUP_DOWNLOAD_URL).toBe(
      '${BACKUP_DOWNLOAD_URL:-http://api.${BASE_DOMAIN:-localhost}/downloads}',
    );
    for (const app of ['instance-service', 'instance-worker']) {
      expect(services[app]?.environment?.BACKUP_DOWNLOAD_SECRET_FILE).toBe(
        '/run/secrets/backup_download_secret',
      );
    }
  });

  it('names config files that exist', () => {
    for (const [name, config] of Object.entries(stack.configs)) {
      expect({ name, exists: existsSync(join(root, dirname(stackPath), config.file)) }).toEqual({
        name,
        exists: true,
      });
    }
  });
});
