/**
 * The floor of `ORCHESTRATOR=swarm npm run bench:provision`: the worker's service spec (image, command,
 * limits and reservations, health check, hardening, Traefik labels on the service, its own volume, the
 * tenant's overlay) made with one plain `docker service create` (1 replica), timed until its task is
 * `running` — which, with a health check, swarm reports only once the container is healthy.
 */
import type Docker from 'dockerode';
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { httpHealthCommand } from '../apps/instance-worker/src/placement/instance-spec';

const MIB = 1024 * 1024;
const MS = 1_000_000;

export interface SwarmFloorOptions {
  docker: Docker;
  image: string;
  network: string;
  runId: string;
  label: string;
  env: Record<string, string>;
  timeoutMs: number;
}

export async function swarmFloorRound(n: number, o: SwarmFloorOptions): Promise<number[]> {
  const started = Date.now();
  return Promise.all(
    Array.from({ length: n }, async (_, i) => {
      const name = `bench-floor-${o.runId}-${n}-${i}-${randomBytes(2).toString('hex')}`;
      const router = `floor-${name}`;
      const labels = { [o.label]: o.runId };
      const service: Docker.Service = await o.docker.createService({
        Name: name,
        Labels: {
          ...labels,
          'traefik.enable': 'true',
          'traefik.swarm.network': o.network,
          [`traefik.http.routers.${router}.rule`]: `Host(\`${name}.saasodoo.test\`)`,
          [`traefik.http.routers.${router}.service`]: router,
          [`traefik.http.services.${router}.loadbalancer.server.port`]: '8069',
        },
        TaskTemplate: {
          ContainerSpec: {
            Image: o.image,
            Args: ['odoo', '--database=bench', '--db-filter=^bench$', '--no-database-list', '--proxy-mode'],
            Env: Object.entries({
              HOST: 'postgres.invalid',
              PORT: '5432',
              USER: 'bench',
              PASSWORD: 'bench',
              ...o.env,
            }).map(([k, v]) => `${k}=${v}`),
            Labels: labels,
            Mounts: [
              {
                Type: 'volume',
                Source: `${name}-data`,
                Target: '/var/lib/odoo',
                VolumeOptions: {
                  NoCopy: false,
                  Labels: labels,
                  DriverConfig: { Name: 'local', Options: {} },
                },
              },
            ],
            CapabilityDrop: ['ALL'],
            HealthCheck: {
              Test: httpHealthCommand(8069, '/web/health'),
              Interval: 2_000 * MS,
              Timeout: 3_000 * MS,
              Retries: 3,
              StartPeriod: 300_000 * MS,
            },
          },
          Resources: {
            Limits: { NanoCPUs: 500_000_000, MemoryBytes: 256 * MIB },
            Reservations: { NanoCPUs: 50_000_000, MemoryBytes: 64 * MIB },
          },
          RestartPolicy: { Condition: 'any', Delay: 2_000 * MS },
          Networks: [{ Target: o.network, Aliases: [name] }],
          LogDriver: { Name: 'json-file', Options: { 'max-size': '10m', 'max-file': '3' } },
        },
        Mode: { Replicated: { Replicas: 1 } },
        EndpointSpec: { Mode: 'vip' },
      });
      const deadline = Date.now() + o.timeoutMs;
      for (;;) {
        const tasks = (await o.docker.listTasks({ filters: { service: [service.id] } })) as {
          Status: { State: string };
        }[];
        if (tasks.some((t) => t.Status.State === 'running')) break;
        if (Date.now() > deadline) throw new Error('floor service never running');
        await sleep(200);
      }
      return Date.now() - started;
    }),
  );
}

export async function removeSwarmFloor(docker: Docker, label: string, runId: string): Promise<void> {
  for (const s of await docker.listServices({ filters: { label: [`${label}=${runId}`] } })) {
    await docker
      .getService(s.ID)
      .remove()
      .catch(() => undefined);
  }
  // Task containers leave a moment after their service; their volumes only then.
  for (let i = 0; i < 60; i++) {
    const left = await docker.listContainers({ all: true, filters: { label: [`${label}=${runId}`] } });
    if (left.length === 0) break;
    await sleep(500);
  }
}
