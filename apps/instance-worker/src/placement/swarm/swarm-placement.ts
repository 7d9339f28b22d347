import { Inject, Injectable, Logger } from '@nestjs/common';
import Docker from 'dockerode';
import { rm } from 'node:fs/promises';
import { StringDecoder } from 'node:string_decoder';
import { setTimeout as sleep } from 'node:timers/promises';
import { APP_CONFIG } from '@app/config';
import type { Config } from '../../config/env';
import { bridgeGateway, ensureSharedDirectory, toNetworkInfo } from '../docker/docker-host';
import { DOCKER_CLIENT, DockerRuntime } from '../docker/docker-runtime';
import { INSTANCE_ID_LABEL, type InstanceSpec, type InstanceStorage, type JobSpec } from '../instance-spec';
import {
  OdooUnhealthyError,
  PlacementNotFoundError,
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
import { messageOf, statusCode, SwarmEngine, type ServiceInfo, type TaskInfo } from './swarm-engine';
import { bufferStream, SwarmJobs } from './swarm-jobs';
import { SwarmNodeStorage } from './swarm-node-storage';
import { instanceServiceSpec, placementConstraints, ROLE_LABEL, SPEC_HASH_LABEL } from './swarm-service-spec';

const SERVICE_ID_LABEL = 'com.docker.swarm.service.id';
const SERVICE_NAME_LABEL = 'com.docker.swarm.service.name';
const STACK_NAMESPACE_LABEL = 'com.docker.stack.namespace';
/** Swarm's words for a task that waits for a node it cannot get. */
const UNSCHEDULABLE = /no suitable node|insufficient resources|not available for new tasks/i;

function replicasOf(info: ServiceInfo): number {
  return info.Spec.Mode?.Replicated?.Replicas ?? 0;
}

/**
 * A swarm: an instance is a one-replica service (restart `any`, limits and reservations, health check with
 * a start period), stop and start are replicas 0 and 1, restart a forced update; its tenant network an
 * attachable overlay; init, backup and restore run as `ReplicatedJob`s on the node that holds the data.
 */
@Injectable()
export class SwarmPlacement implements PlacementBackend {
  readonly kind = 'swarm' as const;
  private readonly logger = new Logger(SwarmPlacement.name);
  private readonly engine: SwarmEngine;
  private readonly jobs: SwarmJobs;
  private readonly nodeStorage: SwarmNodeStorage;
  /** Service id → instance id, for `remove` events (a removed service cannot be inspected any more). */
  private readonly known = new Map<string, string>();
  private roleLabel: { inUse: boolean; until: number } = { inUse: false, until: 0 };

  constructor(
    private readonly docker: DockerRuntime,
    @Inject(DOCKER_CLIENT) private readonly client: Docker,
    @Inject(APP_CONFIG) private readonly config: Config,
  ) {
    this.engine = new SwarmEngine(client);
    this.jobs = new SwarmJobs(this.engine);
    this.nodeStorage = new SwarmNodeStorage(this.jobs, () => this.nodes(), {
      toolsImage: config.SWARM_NODE_TOOLS_IMAGE,
      socketPath: config.SWARM_NODE_DOCKER_SOCKET,
    });
  }

  async ping(): Promise<{ version: string }> {
    await this.docker.ping();
    const info = (await this.client.info()) as {
      Swarm?: { LocalNodeState?: string; ControlAvailable?: boolean };
    };
    if (info.Swarm?.LocalNodeState !== 'active' || !info.Swarm.ControlAvailable) {
      throw new Error('ORCHESTRATOR=swarm needs DOCKER_HOST to be a swarm manager (docker swarm init)');
    }
    return { version: (await this.client.version()).Version };
  }

  // ---- networks ----

  /** Only a swarm-scoped network counts: a local bridge of that name cannot carry services. */
  async networkExists(name: string): Promise<boolean> {
    return (await this.docker.findNetwork(name))?.Scope === 'swarm';
  }

  /**
   * Attachable overlay (so the peers' containers can join it too), encrypted when configured. A local
   * network of the same name (left by the Docker backend on this engine) is replaced when nothing uses it.
   */
  async ensureNetwork(name: string, labels: Record<string, string>): Promise<void> {
    const existing = await this.docker.findNetwork(name);
    if (existing?.Scope === 'swarm') return;
    if (existing && (await this.docker.removeNetworkIfUnused(name)) === 'in_use') {
      throw new Error(
        `network ${name} exists as a local ${existing.Driver} network in use; swarm needs an overlay`,
      );
    }
    try {
      await this.client.createNetwork({
        Name: name,
        Driver: 'overlay',
        Attachable: true,
        CheckDuplicate: true,
        Labels: labels,
        Options: this.config.SWARM_ENCRYPT_NETWORKS ? { encrypted: 'true' } : {},
      });
    } catch (error) {
      if (statusCode(error) === 409 && (await this.networkExists(name))) return;
      throw error;
    }
  }

  /**
   * The peers (TENANT_NETWORK_PEERS: the stack's `traefik`, `odoo-postgres`) are joined as *containers*, not
   * by updating their services (which would restart Traefik for every new tenant): the overlay is attachable
   * and the stack runs them on the worker's manager. The reconciler's sweep joins them again after a restart.
   */
  async attachPeers(name: string): Promise<void> {
    for (const peer of await this.peerContainers()) {
      await this.docker.connectToNetwork(peer.id, name, [peer.service]);
    }
  }

  async releaseNetwork(name: string): Promise<'removed' | 'in_use' | 'missing'> {
    const network = await this.docker.findNetwork(name);
    if (!network) return 'missing';
    const users = (await this.engine.listServices([])).filter((s) =>
      (s.Spec.TaskTemplate.Networks ?? []).some((n) => n.Target === network.Id || n.Target === name),
    );
    if (users.length > 0) return 'in_use';
    for (const peer of await this.peerContainers()) await this.docker.disconnectFromNetwork(peer.id, name);
    // Task endpoints leave the overlay a moment after their service is gone.
    for (let attempt = 0; attempt < 40; attempt++) {
      const result = await this.docker.removeNetworkIfUnused(name);
      if (result !== 'in_use') return result;
      await sleep(250);
    }
    return 'in_use';
  }

  async listNetworks(labels: string[]): Promise<NetworkInfo[]> {
    return (await this.docker.listNetworks(labels)).map(toNetworkInfo);
  }

  hostGateway(): Promise<string> {
    return bridgeGateway(this.client);
  }

  // ---- storage ----

  /** A local volume is created by its first task on the chosen node; this picks and returns that node. */
  async ensureStorage(
    storage: InstanceStorage,
    _labels: Record<string, string>,
  ): Promise<{ node: string | null }> {
    if (storage.kind === 'shared-path') {
      await ensureSharedDirectory(storage.hostPath);
      return { node: null };
    }
    const nodes = await this.nodes();
    if (storage.node && nodes.some((n) => n.id === storage.node)) return { node: storage.node };
    const roleInUse = nodes.some((n) => n.labels[ROLE_LABEL] === 'odoo');
    const eligible = nodes
      .filter((n) => n.availability === 'active' && n.state === 'ready')
      .filter((n) => !roleInUse || n.labels[ROLE_LABEL] === 'odoo')
      .sort(
        (a, b) =>
          b.total.memoryBytes - b.reserved.memoryBytes - (a.total.memoryBytes - a.reserved.memoryBytes),
      );
    const chosen = eligible[0];
    if (!chosen) throw new Error('no active swarm node can hold a new instance volume');
    return { node: chosen.id };
  }

  async removeStorage(storage: InstanceStorage): Promise<void> {
    if (storage.kind === 'shared-path') {
      await rm(storage.hostPath, { recursive: true, force: true });
      return;
    }
    const local = await this.localNodeId();
    if (storage.node && storage.node !== local) {
      // The manager's API cannot reach another node's volumes: a job on that node removes it.
      await this.nodeStorage.remove(storage.volume, storage.node);
      return;
    }
    // Finished tasks' containers (a migrated instance's old ones) still hold the volume.
    for (const holder of await this.client.listContainers({
      all: true,
      filters: { volume: [storage.volume] },
    })) {
      await this.client
        .getContainer(holder.Id)
        .remove({ force: true })
        .catch((error: unknown) => {
          if (statusCode(error) !== 404 && statusCode(error) !== 409) throw error;
        });
    }
    for (let attempt = 0; ; attempt++) {
      try {
        await this.docker.removeVolume(storage.volume);
        return;
      } catch (error) {
        // The last task's container goes away a moment after its service.
        if (attempt >= 120 || statusCode(error) !== 409) throw error;
        await sleep(250);
      }
    }
  }

  storageSizes(): Promise<Map<string, number>> {
    return this.docker.volumeSizes();
  }

  migrationTarget(storage: InstanceStorage, requested?: string): Promise<string> {
    return this.nodeStorage.migrationTarget(storage, requested);
  }

  nodeAcceptsJobs(node: string): Promise<boolean> {
    return this.nodeStorage.acceptsJobs(node);
  }

  prepareStorageOn(
    storage: InstanceStorage,
    node: string,
    labels: Record<string, string>,
    image: string,
  ): Promise<void> {
    return this.nodeStorage.prepare(storage, node, labels, image);
  }

  // ---- instances ----

  async deploy(spec: InstanceSpec): Promise<string> {
    const constraints = placementConstraints(spec.placement, spec.storage, await this.roleLabelInUse());
    const existing = await this.engine.inspectService(spec.name);
    if (existing && existing.Spec.Labels?.[INSTANCE_ID_LABEL] !== spec.instanceId) {
      throw new Error(`service ${spec.name} belongs to another instance`);
    }
    const wanted = instanceServiceSpec(spec, constraints, existing ? (replicasOf(existing) ? 1 : 0) : 0);
    if (!(await this.networkExists(spec.network))) {
      throw new PlacementNotFoundError(`deploy ${spec.name}: network ${spec.network} not found`);
    }
    if (!existing) {
      try {
        const created = await this.client.createService(wanted);
        this.known.set(created.id, spec.instanceId);
        return created.id;
      } catch (error) {
        if (statusCode(error) !== 409) throw error;
        const raced = await this.engine.inspectService(spec.name);
        if (!raced) throw error;
        return this.deploy(spec);
      }
    }
    this.known.set(existing.ID, spec.instanceId);
    if (existing.Spec.Labels?.[SPEC_HASH_LABEL] !== wanted.Labels?.[SPEC_HASH_LABEL]) {
      await this.engine.updateService(existing.ID, (current) => {
        const replicas = current.Mode?.Replicated?.Replicas ?? 0;
        Object.assign(current, wanted, { Mode: { Replicated: { Replicas: replicas } } });
      });
    }
    return existing.ID;
  }

  async scale(handle: string, replicas: 0 | 1, stopTimeoutSeconds: number): Promise<void> {
    await this.engine.updateService(handle, (spec) => {
      if ((spec.Mode?.Replicated?.Replicas ?? 0) === replicas) return false;
      spec.Mode = { Replicated: { Replicas: replicas } };
      return true;
    });
    if (replicas === 0) await this.waitStopped(handle, (stopTimeoutSeconds + 30) * 1000);
  }

  /** A forced update replaces the task; returns once the new one runs (or `waitReady` takes over). */
  async restart(handle: string, stopTimeoutSeconds: number): Promise<void> {
    const before = new Set((await this.engine.tasks(handle)).map((t) => t.ID));
    await this.engine.updateService(handle, (spec) => {
      spec.TaskTemplate.ForceUpdate = (spec.TaskTemplate.ForceUpdate ?? 0) + 1;
    });
    const deadline = Date.now() + (stopTimeoutSeconds + 30) * 1000;
    while (Date.now() < deadline) {
      const tasks = await this.engine.tasks(handle);
      if (tasks.some((t) => !before.has(t.ID) && t.DesiredState === 'running')) return;
      await sleep(200);
    }
  }

  /** Until a task runs: with a health check, swarm reports `running` only once the container is healthy. */
  async waitReady(handle: string, options: ReadyOptions): Promise<{ hostPort: number | null }> {
    const deadline = Date.now() + options.timeoutMs;
    let nextCheck = Date.now() + 2_000;
    let last = 'no task yet';
    while (Date.now() < deadline) {
      if (options.abandon && Date.now() >= nextCheck) {
        nextCheck = Date.now() + 2_000;
        const reason = await options.abandon();
        if (reason) throw new WaitAbandonedError(reason);
      }
      const task = (await this.engine.tasks(handle)).find((t) => t.DesiredState === 'running');
      if (task?.Status.State === 'running') return { hostPort: null };
      if (task) last = `task ${task.Status.State}${task.Status.Err ? `: ${task.Status.Err}` : ''}`;
      await sleep(Math.min(200, Math.max(0, deadline - Date.now())));
    }
    throw new OdooUnhealthyError(`Odoo did not become healthy within ${options.timeoutMs} ms (${last})`);
  }

  async observe(ref: InstanceRef): Promise<ObservedInstance> {
    let info = ref.handle ? await this.engine.inspectService(ref.handle) : null;
    info ??= await this.engine.inspectService(ref.name);
    if (!info || info.Spec.Labels?.[INSTANCE_ID_LABEL] !== ref.instanceId) return { state: 'missing' };
    this.known.set(info.ID, ref.instanceId);
    const limits = info.Spec.TaskTemplate.Resources?.Limits;
    const base = {
      handle: info.ID,
      name: info.Spec.Name ?? ref.name,
      limits: { memoryBytes: limits?.MemoryBytes ?? 0, nanoCpus: limits?.NanoCPUs ?? 0 },
    };
    const tasks = await this.engine.tasks(info.ID);
    const current = tasks.find((t) => t.DesiredState === 'running') ?? tasks[0];
    const node = current?.NodeID ?? null;
    if (replicasOf(info) === 0) {
      return { ...base, state: 'stopped', node, detail: 'scaled to 0' };
    }
    if (current?.Status.State === 'running')
      return { ...base, state: 'running', node, detail: 'task running' };
    const why = `${current?.Status.Err ?? ''} ${current?.Status.Message ?? ''}`;
    if (current?.Status.State === 'pending' && UNSCHEDULABLE.test(why)) {
      return { ...base, state: 'unschedulable', node, detail: why.trim() };
    }
    if (!current || (await this.pinnedNodeGone(info))) {
      return { ...base, state: 'unschedulable', node, detail: 'no eligible node' };
    }
    return { ...base, state: 'stopped', node, detail: `task ${current.Status.State} ${why}`.trim() };
  }

  async updateResources(
    handle: string,
    limits: { memoryBytes: number; nanoCpus: number; pids: number },
  ): Promise<void> {
    await this.engine.updateService(handle, (spec) => {
      const resources = (spec.TaskTemplate.Resources ??= {});
      resources.Limits = {
        NanoCPUs: limits.nanoCpus,
        MemoryBytes: limits.memoryBytes,
        Pids: limits.pids,
      } as NonNullable<typeof resources.Limits>;
    });
  }

  /** Removes the service and waits until its containers on this node are gone (the volume is then free). */
  async remove(handle: string): Promise<void> {
    await this.engine.removeService(handle);
  }

  logs(handle: string, lines: number): Promise<string> {
    return this.engine.serviceLogs(handle, lines);
  }

  /**
   * Service events (create, update, remove: a service removed behind the platform's back is drift) and the
   * task containers' events (die, oom: a task failing or restarting shows).
   */
  async events(
    onEvent: (event: PlacementEvent) => void | Promise<void>,
    signal: AbortSignal,
    options: EventsOptions = {},
  ): Promise<void> {
    for (const service of await this.engine.listServices([INSTANCE_ID_LABEL]).catch(() => [])) {
      const instanceId = service.Spec.Labels?.[INSTANCE_ID_LABEL];
      if (instanceId) this.known.set(service.ID, instanceId);
    }
    const containers = this.docker.events(
      async (event) => {
        const handle = event.attributes[SERVICE_ID_LABEL];
        if (!handle) return;
        await onEvent({
          instanceId: event.instanceId,
          handle,
          action: `task ${event.action}`,
          exitCode: event.exitCode,
          time: event.time,
        });
      },
      signal,
      {
        actions: ['die', 'oom', 'start'],
        ...(options.since ? { since: options.since } : {}),
        ...(options.onError ? { onError: options.onError } : {}),
      },
    );
    const services = this.serviceEvents(onEvent, signal, options);
    await Promise.all([containers, services]);
  }

  async listManaged(): Promise<ManagedInstance[]> {
    return (await this.engine.listServices([INSTANCE_ID_LABEL])).map((s) => ({
      instanceId: s.Spec.Labels?.[INSTANCE_ID_LABEL] ?? '',
      handle: s.ID,
      name: s.Spec.Name ?? '',
    }));
  }

  // ---- jobs and data ----

  async runJob(spec: JobSpec): Promise<JobResult> {
    const constraints = placementConstraints(spec.placement, spec.storage, false);
    if (spec.storage?.kind === 'shared-path') await ensureSharedDirectory(spec.storage.hostPath);
    if (!spec.collectPath) return this.jobs.run(spec, constraints);
    const image = await this.client
      .getImage(spec.image)
      .inspect()
      .catch(() => null);
    const entrypoint = image?.Config.Entrypoint ?? [];
    return this.jobs.runCollecting(
      { ...spec, collectPath: spec.collectPath },
      Array.isArray(entrypoint) ? entrypoint : [entrypoint],
      constraints,
    );
  }

  removeJob(name: string): Promise<void> {
    return this.jobs.remove(name);
  }

  async copyOut(
    ref: { handle: string; storage: InstanceStorage; image: string },
    path: string,
  ): Promise<NodeJS.ReadableStream> {
    const archive = await this.jobs.copyOut(
      await this.dataJob(ref, 'copyout'),
      path,
      await this.dataConstraints(ref),
    );
    return bufferStream(archive);
  }

  async copyIn(
    ref: { handle: string; storage: InstanceStorage; image: string },
    path: string,
    tar: NodeJS.ReadableStream,
  ): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of tar) chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : chunk);
    await this.jobs.copyIn(
      await this.dataJob(ref, 'copyin'),
      path,
      Buffer.concat(chunks),
      await this.dataConstraints(ref),
    );
  }

  async nodes(): Promise<NodeCapacity[]> {
    const [nodes, tasks] = await Promise.all([this.engine.nodes(), this.engine.runningTasks()]);
    return nodes.map((node) => {
      const reserved = { memoryBytes: 0, nanoCpus: 0 };
      for (const task of tasks) {
        if (task.NodeID !== node.ID) continue;
        reserved.memoryBytes += task.Spec?.Resources?.Reservations?.MemoryBytes ?? 0;
        reserved.nanoCpus += task.Spec?.Resources?.Reservations?.NanoCPUs ?? 0;
      }
      return {
        id: node.ID,
        hostname: node.Description?.Hostname ?? node.ID,
        role: node.Spec.Role === 'manager' ? 'manager' : 'worker',
        availability: (node.Spec.Availability ?? 'active') as NodeCapacity['availability'],
        state: node.Status?.State ?? 'unknown',
        labels: node.Spec.Labels ?? {},
        total: {
          memoryBytes: node.Description?.Resources?.MemoryBytes ?? 0,
          nanoCpus: node.Description?.Resources?.NanoCPUs ?? 0,
        },
        reserved,
      };
    });
  }

  // ---- internals ----

  /** Running containers on this engine of the stack services named in TENANT_NETWORK_PEERS. */
  private async peerContainers(): Promise<{ id: string; service: string }[]> {
    if (this.config.TENANT_NETWORK_PEERS.length === 0) return [];
    const containers = await this.client.listContainers({
      filters: { label: [STACK_NAMESPACE_LABEL, SERVICE_NAME_LABEL] },
    });
    return containers.flatMap((c) => {
      const namespace = c.Labels[STACK_NAMESPACE_LABEL] ?? '';
      const service = (c.Labels[SERVICE_NAME_LABEL] ?? '').slice(namespace.length + 1);
      return this.config.TENANT_NETWORK_PEERS.includes(service) ? [{ id: c.Id, service }] : [];
    });
  }

  private async roleLabelInUse(): Promise<boolean> {
    if (this.roleLabel.until > Date.now()) return this.roleLabel.inUse;
    const inUse = (await this.engine.nodes()).some((n) => n.Spec.Labels?.[ROLE_LABEL] === 'odoo');
    this.roleLabel = { inUse, until: Date.now() + 10_000 };
    return inUse;
  }

  private async localNodeId(): Promise<string> {
    const info = (await this.client.info()) as { Swarm?: { NodeID?: string } };
    return info.Swarm?.NodeID ?? '';
  }

  /** The node a `node.id==` constraint pins the service to is down, drained or gone. */
  private async pinnedNodeGone(info: ServiceInfo): Promise<boolean> {
    const pin = (info.Spec.TaskTemplate.Placement?.Constraints ?? [])
      .map((c) => /^node\.id\s*==\s*(\S+)$/.exec(c)?.[1])
      .find(Boolean);
    if (!pin) return false;
    const node = (await this.engine.nodes()).find((n) => n.ID === pin);
    return !node || node.Spec.Availability !== 'active' || node.Status?.State !== 'ready';
  }

  private async waitStopped(handle: string, timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      const tasks = await this.engine.tasks(handle);
      const live = tasks.filter(
        (t) =>
          ['running', 'starting', 'preparing', 'assigned', 'accepted', 'ready'].includes(t.Status.State) ||
          t.DesiredState === 'running',
      );
      if (live.length === 0) return;
      await sleep(200);
    }
  }

  private async dataConstraints(ref: { handle: string; storage: InstanceStorage }): Promise<string[]> {
    if (ref.storage.kind === 'shared-path') return [];
    if (ref.storage.node) return [`node.id==${ref.storage.node}`];
    const info = await this.engine.inspectService(ref.handle);
    const pin = (info?.Spec.TaskTemplate.Placement?.Constraints ?? []).filter((c) => c.startsWith('node.id'));
    if (pin.length) return pin;
    const task: TaskInfo | undefined = info ? (await this.engine.tasks(info.ID))[0] : undefined;
    return task?.NodeID ? [`node.id==${task.NodeID}`] : [];
  }

  private async dataJob(ref: { handle: string; storage: InstanceStorage; image: string }, purpose: string) {
    const info = await this.engine.inspectService(ref.handle);
    const user = info?.Spec.TaskTemplate.ContainerSpec?.User;
    return {
      name: `${info?.Spec.Name ?? ref.handle}_${purpose}`,
      image: ref.image,
      storage: ref.storage,
      timeoutMs: 600_000,
      ...(user ? { user } : {}),
    };
  }

  private async serviceEvents(
    onEvent: (event: PlacementEvent) => void | Promise<void>,
    signal: AbortSignal,
    options: EventsOptions,
  ): Promise<void> {
    let since = options.since ? Math.floor(options.since.getTime() / 1000) : undefined;
    while (!signal.aborted) {
      try {
        const stream = await this.client.getEvents({
          ...(since !== undefined ? { since } : {}),
          filters: { type: ['service'] },
          abortSignal: signal,
        });
        options.onConnect?.();
        const decoder = new StringDecoder('utf8');
        let pending = '';
        for await (const chunk of stream) {
          pending += typeof chunk === 'string' ? chunk : decoder.write(chunk as Buffer);
          let newline = pending.indexOf('\n');
          while (newline >= 0) {
            const line = pending.slice(0, newline).trim();
            pending = pending.slice(newline + 1);
            newline = pending.indexOf('\n');
            if (!line) continue;
            const raw = JSON.parse(line) as { Action?: string; Actor?: { ID?: string }; time?: number };
            const handle = raw.Actor?.ID;
            const instanceId = handle ? this.known.get(handle) : undefined;
            if (raw.time) since = raw.time;
            if (!handle || !instanceId || !raw.Action) continue;
            if (raw.Action === 'remove') this.known.delete(handle);
            await Promise.resolve(
              onEvent({
                instanceId,
                handle,
                action: `service ${raw.Action}`,
                exitCode: undefined,
                time: new Date((raw.time ?? 0) * 1000),
              }),
            ).catch((error: unknown) =>
              options.onError?.(error instanceof Error ? error : new Error(String(error))),
            );
          }
        }
      } catch (error) {
        if (signal.aborted) break;
        (options.onError ?? ((e: Error) => this.logger.warn(`swarm events: ${e.message}`)))(
          new Error(messageOf(error)),
        );
      }
      await sleep(1_000, undefined, { signal }).catch(() => undefined);
    }
  }
}
