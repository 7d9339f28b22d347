import type { InstanceSpec, InstanceStorage, JobSpec, ResourceAmounts } from './instance-spec';

/** Chosen once at boot from `ORCHESTRATOR`. */
export const PLACEMENT_BACKEND = Symbol('PLACEMENT_BACKEND');

export type OrchestratorKind = 'docker' | 'swarm';

/** Where an instance is looked for: the handle recorded at deploy time, else the name. */
export interface InstanceRef {
  instanceId: string;
  name: string;
  handle?: string | null;
}

/**
 * An instance as the engine sees it. `unschedulable`: it should run but no eligible node can take it
 * (node down or drained, no capacity). `limits` are what is applied now (to compare with the row).
 */
export type ObservedInstance =
  | {
      state: 'running' | 'stopped' | 'unschedulable';
      handle: string;
      name: string;
      limits: ResourceAmounts;
      node: string | null;
      detail: string;
    }
  | { state: 'missing' };

export interface PlacementEvent {
  instanceId: string;
  /** The handle the event is about (an older handle of the instance is history). */
  handle: string;
  /** Engine word for what happened (`die`, `stop`, `remove`, `task failed`…), for the audit reason. */
  action: string;
  exitCode: number | undefined;
  time: Date;
}

export interface EventsOptions {
  since?: Date;
  onConnect?: () => void;
  onError?: (error: Error) => void;
}

export interface JobResult {
  exitCode: number;
  output: string;
  /** Tar archive of `collectPath` after a clean exit; null when that path does not exist. */
  collected: Buffer | null;
}

export interface ManagedInstance {
  instanceId: string;
  handle: string;
  name: string;
}

export interface NetworkInfo {
  name: string;
  labels: Record<string, string>;
  created: Date;
}

export interface ReadyOptions {
  timeoutMs: number;
  /** Asked every few seconds; a reason abandons the wait (WaitAbandonedError). */
  abandon?: () => Promise<string | null>;
}

export interface NodeCapacity {
  id: string;
  hostname: string;
  role: 'manager' | 'worker';
  availability: 'active' | 'pause' | 'drain';
  state: string;
  labels: Record<string, string>;
  total: ResourceAmounts;
  reserved: ResourceAmounts;
}

export class OdooUnhealthyError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'OdooUnhealthyError';
  }
}

/** The wait was abandoned because the instance no longer wants it (e.g. terminated while provisioning). */
export class WaitAbandonedError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'WaitAbandonedError';
  }
}

/** The engine cannot do what was asked here (no other node on a single host, node not eligible…). */
export class PlacementRefusedError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PlacementRefusedError';
  }
}

/** An object the operation needs (e.g. the tenant network) does not exist. */
export class PlacementNotFoundError extends Error {
  constructor(message: string, options: { cause?: unknown } = {}) {
    super(message, options);
    this.name = 'PlacementNotFoundError';
  }
}

/**
 * Where and how instances run. The lifecycle speaks only this; `placement/docker` runs an instance as a
 * container on one engine, `placement/swarm` as a one-replica service on a swarm. Every operation is
 * idempotent, so a retried job converges instead of failing on its own leftovers.
 */
export interface PlacementBackend {
  readonly kind: OrchestratorKind;

  /** The engine answers (boot and readiness). */
  ping(): Promise<{ version: string }>;

  // ---- networks ----
  networkExists(name: string): Promise<boolean>;
  /** The tenant network (bridge on one host, attachable overlay on a swarm); existing is fine. */
  ensureNetwork(name: string, labels: Record<string, string>): Promise<void>;
  /** Joins the shared peers (proxy, database) to `name`, under their service name as alias. */
  attachPeers(name: string): Promise<void>;
  /** Detaches the peers and removes the network unless an instance or job still uses it. */
  releaseNetwork(name: string): Promise<'removed' | 'in_use' | 'missing'>;
  /** Managed networks carrying every one of `labels` (`key` or `key=value`). */
  listNetworks(labels: string[]): Promise<NetworkInfo[]>;
  /** An address of this host containers can reach (the database forwarder binds to it). */
  hostGateway(): Promise<string>;

  // ---- storage ----
  /**
   * Makes the storage ready; for a local volume on a swarm, picks the node that will hold it (an existing
   * `storage.node` is kept) and returns it, so instance and jobs are pinned there. Null on a single host.
   */
  ensureStorage(storage: InstanceStorage, labels: Record<string, string>): Promise<{ node: string | null }>;
  /**
   * Removes the storage; a local volume on a swarm on the node recorded in `storage.node`, whichever node
   * that is (a job on that node). A node that cannot run jobs (down, drained) keeps it: a warning is logged.
   */
  removeStorage(storage: InstanceStorage): Promise<void>;

  // ---- moving a local volume to another node (swarm) ----
  /**
   * The node a local volume now on `storage.node` may move to: `requested` when it is eligible (exists,
   * active, ready, `saasodoo.role=odoo` when any node has it, not the current node), otherwise the eligible
   * node with the most free reserved memory. PlacementRefusedError when there is none, or nothing can move
   * (single host).
   */
  migrationTarget(storage: InstanceStorage, requested?: string): Promise<string>;
  /** Jobs can run on `node` now (ready and active): its volumes can be read and removed. */
  nodeAcceptsJobs(node: string): Promise<boolean>;
  /**
   * An empty local volume for `storage` on `node` (a leftover of the same name there is removed first),
   * carrying `labels`; fill it with copyIn (ref.storage.node = node), then pin the instance there by
   * deploying its spec with that node.
   */
  prepareStorageOn(
    storage: InstanceStorage,
    node: string,
    labels: Record<string, string>,
    image: string,
  ): Promise<void>;
  /** Bytes used per local volume name, where the engine can tell. */
  storageSizes(): Promise<Map<string, number>>;

  // ---- instances ----
  /** Creates or adopts the instance with exactly this spec, not running; returns its handle. */
  deploy(spec: InstanceSpec): Promise<string>;
  /** 1: running, 0: stopped (SIGTERM, then SIGKILL after the spec's stop timeout). */
  scale(handle: string, replicas: 0 | 1, stopTimeoutSeconds: number): Promise<void>;
  restart(handle: string, stopTimeoutSeconds: number): Promise<void>;
  /** Until the instance answers its health check; the loopback port when one is published. */
  waitReady(handle: string, options: ReadyOptions): Promise<{ hostPort: number | null }>;
  observe(ref: InstanceRef): Promise<ObservedInstance>;
  updateResources(handle: string, limits: ResourceAmounts & { pids: number }): Promise<void>;
  remove(handle: string): Promise<void>;
  logs(handle: string, lines: number): Promise<string>;
  /** Changes to managed instances, in order, until `signal` aborts (reconnects on its own). */
  events(
    onEvent: (event: PlacementEvent) => void | Promise<void>,
    signal: AbortSignal,
    options?: EventsOptions,
  ): Promise<void>;
  listManaged(): Promise<ManagedInstance[]>;

  // ---- jobs and data ----
  runJob(spec: JobSpec): Promise<JobResult>;
  /** A job left behind by a worker that died while it ran. */
  removeJob(name: string): Promise<void>;
  /** Tar stream of `path` in the instance's storage (the instance may be stopped). */
  copyOut(
    ref: { handle: string; storage: InstanceStorage; image: string },
    path: string,
  ): Promise<NodeJS.ReadableStream>;
  /** Extracts a tar archive into the directory `path` of the instance's storage. */
  copyIn(
    ref: { handle: string; storage: InstanceStorage; image: string },
    path: string,
    tar: NodeJS.ReadableStream,
  ): Promise<void>;

  /** Nodes with labels, availability and reserved versus total capacity. */
  nodes(): Promise<NodeCapacity[]>;
}
