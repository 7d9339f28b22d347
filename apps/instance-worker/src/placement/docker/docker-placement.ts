import { Inject, Injectable } from '@nestjs/common';
import { rm } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import Docker from 'dockerode';
import { APP_CONFIG } from '@app/config';
import type { Config } from '../../config/env';
import { INSTANCE_ID_LABEL, type InstanceSpec, type InstanceStorage, type JobSpec } from '../instance-spec';
import {
  OdooUnhealthyError,
  PlacementNotFoundError,
  PlacementRefusedError,
  WaitAbandonedError,
  type EventsOptions,
  type InstanceRef,
  type JobResult,
  type ManagedInstance,
  type NetworkInfo,
  type NodeCapacity,
  type ObservedInstance,
  type PlacementBackend,
  type PlacementEvent,
  type ReadyOptions,
} from '../placement-backend';
import { bridgeGateway, ensureSharedDirectory, toNetworkInfo } from './docker-host';
import {
  ContainerSpecMismatchError,
  DOCKER_CLIENT,
  DockerNotFoundError,
  DockerRuntime,
  HttpWaitTimeoutError,
  type ContainerSpec,
  type VolumeMount,
} from './docker-runtime';

const COMPOSE_SERVICE_LABEL = 'com.docker.compose.service';

/** The Odoo health probe run inside the container when no port is published. */
export const IN_CONTAINER_HEALTH_PROBE = [
  'sh',
  '-c',
  'u=http://127.0.0.1:8069/web/health; wget -q -T 2 -O /dev/null "$u" 2>/dev/null || ' +
    'curl -fsS -m 2 -o /dev/null "$u" 2>/dev/null || ' +
    `python3 -c "import urllib.request as r; r.urlopen('$u', timeout=2)" 2>/dev/null`,
];

function volumeMounts(storage: InstanceStorage | undefined): VolumeMount[] {
  if (!storage) return [];
  return storage.kind === 'local-volume'
    ? [{ volume: storage.volume, path: storage.mountPath }]
    : [{ volume: storage.hostPath, path: storage.mountPath, bind: true }];
}

/** The proxy's labels (Traefik's docker provider reads them from the container). */
export function routeLabels(spec: InstanceSpec): Record<string, string> {
  if (!spec.route) return {};
  const { router, host, port, network } = spec.route;
  return {
    'traefik.enable': 'true',
    'traefik.docker.network': network,
    [`traefik.http.routers.${router}.rule`]: `Host(\`${host}\`)`,
    [`traefik.http.routers.${router}.service`]: router,
    [`traefik.http.services.${router}.loadbalancer.server.port`]: String(port),
  };
}

/**
 * One Docker engine: an instance is a container (restart `unless-stopped`), its tenant network a bridge,
 * its storage a local volume. Today's single-host behaviour, behind the placement port.
 */
@Injectable()
export class DockerPlacement implements PlacementBackend {
  readonly kind = 'docker' as const;

  constructor(
    private readonly docker: DockerRuntime,
    @Inject(DOCKER_CLIENT) private readonly client: Docker,
    @Inject(APP_CONFIG) private readonly config: Config,
  ) {}

  async ping(): Promise<{ version: string }> {
    await this.docker.ping();
    const version = await this.client.version();
    return { version: version.Version };
  }

  // ---- networks ----

  async networkExists(name: string): Promise<boolean> {
    return (await this.docker.findNetwork(name)) !== null;
  }

  async ensureNetwork(name: string, labels: Record<string, string>): Promise<void> {
    await this.docker.ensureNetwork(name, labels);
  }

  async attachPeers(name: string): Promise<void> {
    for (const peer of await this.peers()) await this.docker.connectToNetwork(peer.id, name, [peer.service]);
  }

  async releaseNetwork(name: string): Promise<'removed' | 'in_use' | 'missing'> {
    if (!(await this.docker.findNetwork(name))) return 'missing';
    const attached = await this.docker.listNetworkContainers(name);
    const peerIds = new Set((await this.peers()).map((p) => p.id));
    if (attached.some((c) => !peerIds.has(c.Id))) return 'in_use';
    for (const container of attached) await this.docker.disconnectFromNetwork(container.Id, name);
    return this.docker.removeNetworkIfUnused(name);
  }

  async listNetworks(labels: string[]): Promise<NetworkInfo[]> {
    return (await this.docker.listNetworks(labels)).map(toNetworkInfo);
  }

  hostGateway(): Promise<string> {
    return bridgeGateway(this.client);
  }

  // ---- storage ----

  async ensureStorage(
    storage: InstanceStorage,
    labels: Record<string, string>,
  ): Promise<{ node: string | null }> {
    if (storage.kind === 'local-volume') await this.docker.ensureVolume(storage.volume, labels);
    else await ensureSharedDirectory(storage.hostPath);
    return { node: null };
  }

  async removeStorage(storage: InstanceStorage): Promise<void> {
    if (storage.kind === 'local-volume') await this.docker.removeVolume(storage.volume);
    else await rm(storage.hostPath, { recursive: true, force: true });
  }

  storageSizes(): Promise<Map<string, number>> {
    return this.docker.volumeSizes();
  }

  /** One host: there is no other node to move to. */
  migrationTarget(): Promise<string> {
    return Promise.reject(
      new PlacementRefusedError('instances run on one Docker host (ORCHESTRATOR=docker): no other node'),
    );
  }

  nodeAcceptsJobs(): Promise<boolean> {
    return Promise.resolve(true);
  }

  prepareStorageOn(): Promise<void> {
    return Promise.reject(new PlacementRefusedError('a single Docker host has no other node'));
  }

  // ---- instances ----

  containerSpec(spec: InstanceSpec): ContainerSpec {
    return {
      name: spec.name,
      image: spec.image,
      env: spec.env,
      labels: { ...spec.labels, ...routeLabels(spec) },
      ...(spec.cmd ? { cmd: spec.cmd } : {}),
      memoryBytes: spec.resources.limits.memoryBytes,
      nanoCpus: spec.resources.limits.nanoCpus,
      pidsLimit: spec.resources.limits.pids,
      networks: [spec.network],
      volumeMounts: volumeMounts(spec.storage),
      restartPolicy: 'unless-stopped',
      ...(spec.publishOnLoopback && spec.route
        ? { publishPort: { containerPort: spec.route.port, hostIp: '127.0.0.1' } }
        : {}),
    };
  }

  /** An existing container with another spec (new image, limits, env) is replaced: data lives in storage. */
  async deploy(spec: InstanceSpec): Promise<string> {
    const container = this.containerSpec(spec);
    try {
      return (await this.docker.createContainer(container)).id;
    } catch (error) {
      if (error instanceof DockerNotFoundError) {
        throw new PlacementNotFoundError(`deploy ${spec.name}: ${error.message}`, { cause: error });
      }
      if (!(error instanceof ContainerSpecMismatchError)) throw error;
      await this.docker.removeContainer(error.containerId, { force: true });
      return (await this.docker.createContainer(container)).id;
    }
  }

  async scale(handle: string, replicas: 0 | 1, stopTimeoutSeconds: number): Promise<void> {
    if (replicas === 1) await this.docker.startContainer(handle);
    else await this.docker.stopContainer(handle, stopTimeoutSeconds);
  }

  async restart(handle: string, stopTimeoutSeconds: number): Promise<void> {
    await this.docker.restartContainer(handle, stopTimeoutSeconds);
  }

  /**
   * Until Odoo answers 200 on /web/health: through the port published on 127.0.0.1 (read again each round:
   * it changes when Docker restarts the container), else by probing from inside the container.
   */
  async waitReady(handle: string, options: ReadyOptions): Promise<{ hostPort: number | null }> {
    const deadline = Date.now() + options.timeoutMs;
    let last = 'no answer yet';
    let nextCheck = Date.now() + 2_000;
    while (Date.now() < deadline) {
      if (options.abandon && Date.now() >= nextCheck) {
        nextCheck = Date.now() + 2_000;
        const reason = await options.abandon();
        if (reason) throw new WaitAbandonedError(reason);
      }
      if (this.config.PUBLISH_INSTANCE_PORTS) {
        const port = await this.docker.publishedPort(handle);
        if (port !== null) {
          try {
            await this.docker.waitForHttp(`http://127.0.0.1:${port}`, {
              timeoutMs: Math.max(500, Math.min(2_000, deadline - Date.now())),
              intervalMs: 200,
              requestTimeoutMs: 2_000,
            });
            return { hostPort: port };
          } catch (error) {
            if (!(error instanceof HttpWaitTimeoutError)) throw error;
            last = error.message;
            continue;
          }
        }
        last = 'container not running (no published port)';
      } else {
        const probe = await this.docker
          .execInContainer(handle, IN_CONTAINER_HEALTH_PROBE)
          .catch((error: unknown) => ({ exitCode: -1, stdout: '', stderr: String(error) }));
        if (probe.exitCode === 0) return { hostPort: null };
        last = `probe exit ${probe.exitCode} ${probe.stderr.slice(0, 200)}`;
      }
      await sleep(Math.min(250, Math.max(0, deadline - Date.now())));
    }
    throw new OdooUnhealthyError(`Odoo did not become healthy within ${options.timeoutMs} ms (${last})`);
  }

  /** Found by recorded handle or, failing that, by name; a container of another instance is not it. */
  async observe(ref: InstanceRef): Promise<ObservedInstance> {
    let info: Docker.ContainerInspectInfo | null = null;
    if (ref.handle) {
      try {
        info = await this.docker.inspectContainer(ref.handle);
      } catch (error) {
        if (!(error instanceof DockerNotFoundError)) throw error;
      }
    }
    info ??= await this.docker.findContainer(ref.name);
    if (!info || info.Config.Labels?.[INSTANCE_ID_LABEL] !== ref.instanceId) return { state: 'missing' };
    const running = info.State.Running && !info.State.Restarting;
    return {
      state: running ? 'running' : 'stopped',
      handle: info.Id,
      name: info.Name.replace(/^\//, ''),
      limits: { memoryBytes: info.HostConfig.Memory ?? 0, nanoCpus: info.HostConfig.NanoCpus ?? 0 },
      node: null,
      detail: info.State.Status,
    };
  }

  async updateResources(
    handle: string,
    limits: { memoryBytes: number; nanoCpus: number; pids: number },
  ): Promise<void> {
    await this.docker.updateResources(handle, {
      memoryBytes: limits.memoryBytes,
      nanoCpus: limits.nanoCpus,
      pidsLimit: limits.pids,
    });
  }

  async remove(handle: string): Promise<void> {
    await this.docker.removeContainer(handle, { force: true });
  }

  logs(handle: string, lines: number): Promise<string> {
    return this.docker.logs(handle, lines);
  }

  events(
    onEvent: (event: PlacementEvent) => void | Promise<void>,
    signal: AbortSignal,
    options: EventsOptions = {},
  ): Promise<void> {
    return this.docker.events(
      (event) =>
        onEvent({
          instanceId: event.instanceId,
          handle: event.containerId,
          action: event.action,
          exitCode: event.exitCode,
          time: event.time,
        }),
      signal,
      {
        ...(options.since ? { since: options.since } : {}),
        ...(options.onConnect ? { onConnect: options.onConnect } : {}),
        ...(options.onError ? { onError: options.onError } : {}),
      },
    );
  }

  async listManaged(): Promise<ManagedInstance[]> {
    return (await this.docker.listManaged()).map((c) => ({
      instanceId: c.Labels[INSTANCE_ID_LABEL] ?? '',
      handle: c.Id,
      name: (c.Names[0] ?? '').replace(/^\//, ''),
    }));
  }

  // ---- jobs and data ----

  async runJob(spec: JobSpec): Promise<JobResult> {
    let collected: Buffer | null = null;
    const limits = spec.resources?.limits;
    const result = await this.docker.runOneShot({
      name: spec.name,
      image: spec.image,
      cmd: spec.cmd,
      ...(spec.env ? { env: spec.env } : {}),
      ...(spec.labels ? { labels: spec.labels } : {}),
      volumeMounts: volumeMounts(spec.storage),
      networks: spec.networks ?? [],
      ...(limits
        ? { memoryBytes: limits.memoryBytes, nanoCpus: limits.nanoCpus, pidsLimit: limits.pids }
        : {}),
      ...(spec.user ? { user: spec.user } : {}),
      ...(spec.timeoutMs !== undefined ? { timeoutMs: spec.timeoutMs } : {}),
      ...(spec.collectPath
        ? {
            onSuccess: async (containerId: string) => {
              collected = await this.docker
                .copyFromContainerToBuffer(containerId, spec.collectPath ?? '/')
                .catch((error: unknown) => {
                  if (error instanceof DockerNotFoundError) return null;
                  throw error;
                });
            },
          }
        : {}),
    });
    return { exitCode: result.exitCode, output: result.output, collected };
  }

  async removeJob(name: string): Promise<void> {
    const stale = await this.docker.findContainer(name);
    if (stale) await this.docker.removeContainer(stale.Id, { force: true });
  }

  copyOut(ref: { handle: string }, path: string): Promise<NodeJS.ReadableStream> {
    return this.docker.copyFromContainer(ref.handle, path);
  }

  async copyIn(ref: { handle: string }, path: string, tar: NodeJS.ReadableStream): Promise<void> {
    await this.docker.copyToContainer(ref.handle, path, tar);
  }

  /** This host as the only node: what the managed containers are limited to against the engine's total. */
  async nodes(): Promise<NodeCapacity[]> {
    const info = (await this.client.info()) as {
      ID?: string;
      Name?: string;
      NCPU?: number;
      MemTotal?: number;
    };
    let memoryBytes = 0;
    let nanoCpus = 0;
    for (const container of await this.docker.listManaged()) {
      if (container.State !== 'running') continue;
      const inspect = await this.docker.inspectContainer(container.Id).catch(() => null);
      memoryBytes += inspect?.HostConfig.Memory ?? 0;
      nanoCpus += inspect?.HostConfig.NanoCpus ?? 0;
    }
    return [
      {
        id: info.ID ?? 'local',
        hostname: info.Name ?? 'local',
        role: 'manager',
        availability: 'active',
        state: 'ready',
        labels: {},
        total: { memoryBytes: info.MemTotal ?? 0, nanoCpus: (info.NCPU ?? 0) * 1e9 },
        reserved: { memoryBytes, nanoCpus },
      },
    ];
  }

  private async peers(): Promise<{ id: string; service: string }[]> {
    if (this.config.TENANT_NETWORK_PEERS.length === 0) return [];
    if (!(await this.docker.findNetwork(this.config.ODOO_NETWORK))) return [];
    const containers = await this.docker.listNetworkContainers(this.config.ODOO_NETWORK, [
      COMPOSE_SERVICE_LABEL,
    ]);
    return containers.flatMap((c) => {
      const service = c.Labels?.[COMPOSE_SERVICE_LABEL];
      return service && this.config.TENANT_NETWORK_PEERS.includes(service) ? [{ id: c.Id, service }] : [];
    });
  }
}
