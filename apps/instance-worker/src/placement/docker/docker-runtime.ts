import { Inject, Injectable, Logger, type FactoryProvider } from '@nestjs/common';
import { APP_CONFIG } from '@app/config';
import Docker from 'dockerode';
import { randomBytes } from 'node:crypto';
import { StringDecoder } from 'node:string_decoder';
import { setTimeout as sleep } from 'node:timers/promises';
import { INSTANCE_ID_LABEL } from '../instance-spec';

export const DOCKER_CLIENT = Symbol('DOCKER_CLIENT');

export { INSTANCE_ID_LABEL };

export const DEFAULT_DOCKER_SOCKET = '/var/run/docker.sock';

/**
 * Builds a dockerode client for `dockerHost` (`unix:///var/run/docker.sock`, `tcp://127.0.0.1:2375`,
 * `https://host:2376`), falling back to `DOCKER_HOST` and then to the local socket.
 */
export function createDockerClient(dockerHost: string | undefined = process.env.DOCKER_HOST): Docker {
  if (!dockerHost) {
    return new Docker({ socketPath: DEFAULT_DOCKER_SOCKET, host: undefined, port: undefined });
  }
  let url: URL;
  try {
    url = new URL(dockerHost.includes('://') ? dockerHost : `tcp://${dockerHost}`);
  } catch (error) {
    throw new DockerRuntimeError('createDockerClient', `invalid DOCKER_HOST "${dockerHost}"`, {
      cause: error,
    });
  }
  switch (url.protocol) {
    case 'unix:':
      // host/port must be cleared: docker-modem merges DOCKER_HOST from the environment underneath.
      return new Docker({
        socketPath: url.pathname || DEFAULT_DOCKER_SOCKET,
        host: undefined,
        port: undefined,
      });
    case 'tcp:':
    case 'http:':
    case 'https:': {
      const tls = url.protocol === 'https:' || url.port === '2376';
      return new Docker({
        host: url.hostname,
        port: Number(url.port || (tls ? 2376 : 2375)),
        protocol: tls ? 'https' : 'http',
        socketPath: undefined,
      });
    }
    default:
      throw new DockerRuntimeError('createDockerClient', `unsupported DOCKER_HOST scheme "${url.protocol}"`);
  }
}

/** Reads `DOCKER_HOST` from the app's validated config (`apps/instance-worker/src/config/env.ts`). */
export const dockerClientProvider: FactoryProvider<Docker> = {
  provide: DOCKER_CLIENT,
  inject: [APP_CONFIG],
  useFactory: (config: { DOCKER_HOST?: string }): Docker => createDockerClient(config.DOCKER_HOST),
};

export class DockerRuntimeError extends Error {
  readonly operation: string;
  readonly statusCode: number | undefined;

  constructor(operation: string, message: string, options: { statusCode?: number; cause?: unknown } = {}) {
    super(`${operation}: ${message}`, { cause: options.cause });
    this.name = new.target.name;
    this.operation = operation;
    this.statusCode = options.statusCode;
  }
}

export class DockerNotFoundError extends DockerRuntimeError {}

export class DockerConflictError extends DockerRuntimeError {}

/** A container with the requested name exists but was created from a different spec. */
export class ContainerSpecMismatchError extends DockerRuntimeError {
  constructor(
    readonly containerId: string,
    readonly differences: string[],
  ) {
    super('createContainer', `container ${containerId} exists with another spec: ${differences.join('; ')}`, {
      statusCode: 409,
    });
  }
}

export class OneShotTimeoutError extends DockerRuntimeError {
  constructor(
    readonly timeoutMs: number,
    readonly output: string,
  ) {
    super('runOneShot', `command did not finish within ${timeoutMs} ms and was killed`);
  }
}

export class HttpWaitTimeoutError extends Error {
  constructor(
    readonly url: string,
    readonly timeoutMs: number,
    readonly attempts: number,
    readonly lastStatus: number | undefined,
    readonly lastError: string | undefined,
  ) {
    super(
      `waitForHttp: ${url} did not answer 200 within ${timeoutMs} ms after ${attempts} attempts ` +
        `(last status ${lastStatus ?? 'none'}, last error ${lastError ?? 'none'})`,
    );
    this.name = 'HttpWaitTimeoutError';
  }
}

export interface VolumeMount {
  /** A named volume, or with `bind` a host directory. */
  volume: string;
  path: string;
  readOnly?: boolean;
  bind?: boolean;
}

export interface PublishPort {
  containerPort: number;
  hostIp: string;
  /** 0 or absent: Docker picks a free port; read it back with `publishedPort`. */
  hostPort?: number;
}

export type RestartPolicyName = 'no' | 'always' | 'unless-stopped' | 'on-failure';

export interface ContainerSpec {
  name: string;
  image: string;
  env: Record<string, string>;
  labels: Record<string, string>;
  cmd?: string[];
  memoryBytes: number;
  nanoCpus: number;
  pidsLimit: number;
  /** The first network is joined at creation, the others are connected before `createContainer` returns. */
  networks: string[];
  volumeMounts: VolumeMount[];
  publishPort?: PublishPort;
  /** Defaults to `unless-stopped`. */
  restartPolicy?: RestartPolicyName;
  user?: string;
}

export interface CreateContainerResult {
  id: string;
  /** False when an existing container with the same name and spec was adopted. */
  created: boolean;
}

export interface ResourceLimits {
  memoryBytes?: number;
  nanoCpus?: number;
  pidsLimit?: number;
}

export interface OneShotSpec {
  /** Defaults to a random name. A leftover container with this name is removed first. */
  name?: string;
  image: string;
  cmd: string[];
  env?: Record<string, string>;
  labels?: Record<string, string>;
  volumeMounts?: VolumeMount[];
  networks?: string[];
  memoryBytes?: number;
  nanoCpus?: number;
  pidsLimit?: number;
  user?: string;
  /** The container is killed (and an OneShotTimeoutError thrown) after this long. Default: no limit. */
  timeoutMs?: number;
  /** Runs after a clean exit (code 0), before the container is removed: e.g. to copy files out of it. */
  onSuccess?: (containerId: string) => Promise<void>;
}

export interface OneShotResult {
  exitCode: number;
  /** stdout and stderr, interleaved as the container wrote them. */
  output: string;
}

export interface ExecOptions {
  user?: string;
  env?: Record<string, string>;
  workingDir?: string;
}

export interface ExecResult {
  exitCode: number;
  stdout: string;
  stderr: string;
}

export interface DemuxedOutput {
  stdout: Buffer;
  stderr: Buffer;
  /** Both streams in the order the frames arrived. */
  combined: Buffer;
}

export type StartResult = 'started' | 'already_running';
export type StopResult = 'stopped' | 'not_running' | 'missing';
export type NetworkRemoval = 'removed' | 'in_use' | 'missing';
export type VolumeRemoval = 'removed' | 'missing';

export type ContainerEventAction = 'start' | 'die' | 'stop' | 'destroy' | 'oom';

export const DEFAULT_EVENT_ACTIONS: readonly ContainerEventAction[] = [
  'start',
  'die',
  'stop',
  'destroy',
  'oom',
];

export interface ContainerEvent {
  action: string;
  containerId: string;
  containerName: string | undefined;
  instanceId: string;
  /** Docker's actor attributes: the container's labels plus `name`, `image` and, for `die`, `exitCode`. */
  attributes: Record<string, string>;
  exitCode: number | undefined;
  time: Date;
  timeNano: bigint;
}

export interface EventsOptions {
  actions?: readonly string[];
  /** Extra label filters (`key` or `key=value`) on top of `saasodoo.instance.id`. */
  labels?: string[];
  /** Replay events from this time on the first connection. */
  since?: Date;
  /** Called each time the event stream is (re)connected. */
  onConnect?: () => void;
  /** Stream, parse and handler errors; the subscription keeps going. Default: logged as warnings. */
  onError?: (error: Error) => void;
  reconnectDelayMs?: number;
  maxReconnectDelayMs?: number;
}

export interface WaitForHttpOptions {
  path?: string;
  timeoutMs: number;
  intervalMs?: number;
  /** Per-request timeout; default 5 s (the last request may overrun the deadline by up to 0.5 s). */
  requestTimeoutMs?: number;
  signal?: AbortSignal;
}

export interface HttpWaitResult {
  url: string;
  status: number;
  body: string;
  attempts: number;
  elapsedMs: number;
}

const STREAM_STDIN = 0;
const STREAM_STDOUT = 1;
const STREAM_STDERR = 2;

/**
 * Splits Docker's multiplexed stream format (8-byte header: stream type, 3 zero bytes, big-endian length)
 * into stdout and stderr. Bytes that do not start with a valid header are treated as raw stdout (TTY mode).
 */
export function demuxDockerStream(buffer: Buffer): DemuxedOutput {
  const stdout: Buffer[] = [];
  const stderr: Buffer[] = [];
  const combined: Buffer[] = [];
  let offset = 0;
  while (offset < buffer.length) {
    const type = buffer[offset];
    const validHeader =
      offset + 8 <= buffer.length &&
      (type === STREAM_STDIN || type === STREAM_STDOUT || type === STREAM_STDERR) &&
      buffer[offset + 1] === 0 &&
      buffer[offset + 2] === 0 &&
      buffer[offset + 3] === 0;
    if (!validHeader) {
      const rest = buffer.subarray(offset);
      stdout.push(rest);
      combined.push(rest);
      break;
    }
    const size = buffer.readUInt32BE(offset + 4);
    const payload = buffer.subarray(offset + 8, Math.min(offset + 8 + size, buffer.length));
    (type === STREAM_STDERR ? stderr : stdout).push(payload);
    combined.push(payload);
    offset += 8 + size;
  }
  return { stdout: Buffer.concat(stdout), stderr: Buffer.concat(stderr), combined: Buffer.concat(combined) };
}

function errorStatus(error: unknown): number | undefined {
  if (typeof error === 'object' && error !== null && 'statusCode' in error) {
    const { statusCode } = error;
    return typeof statusCode === 'number' ? statusCode : undefined;
  }
  return undefined;
}

function errorMessage(error: unknown): string {
  if (typeof error === 'object' && error !== null && 'json' in error) {
    const { json } = error;
    if (typeof json === 'object' && json !== null && 'message' in json && typeof json.message === 'string') {
      return json.message;
    }
  }
  return error instanceof Error ? error.message : String(error);
}

function toRuntimeError(operation: string, error: unknown): DockerRuntimeError {
  if (error instanceof DockerRuntimeError) {
    return error;
  }
  const statusCode = errorStatus(error);
  const message = errorMessage(error);
  if (statusCode === 404) {
    return new DockerNotFoundError(operation, message, { statusCode, cause: error });
  }
  if (statusCode === 409) {
    return new DockerConflictError(operation, message, { statusCode, cause: error });
  }
  return new DockerRuntimeError(operation, message, { statusCode, cause: error });
}

function toBuffer(payload: unknown): Buffer {
  if (Buffer.isBuffer(payload)) {
    return payload;
  }
  // docker-modem parses bodies that happen to be valid JSON; turn them back into bytes.
  return Buffer.from(typeof payload === 'string' ? payload : JSON.stringify(payload));
}

async function readAll(stream: NodeJS.ReadableStream): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) {
    chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : chunk);
  }
  return Buffer.concat(chunks);
}

function envList(env: Record<string, string> | undefined): string[] {
  return Object.entries(env ?? {}).map(([key, value]) => `${key}=${value}`);
}

function stringArray(value: unknown): string[] {
  return Array.isArray(value) ? value.filter((item): item is string => typeof item === 'string') : [];
}

function stringRecord(value: unknown): Record<string, string> {
  const record: Record<string, string> = {};
  if (typeof value === 'object' && value !== null) {
    for (const [key, item] of Object.entries(value)) {
      if (typeof item === 'string') {
        record[key] = item;
      }
    }
  }
  return record;
}

const SECURITY_OPTS = ['no-new-privileges:true'];
const CAP_DROP = ['ALL'];

interface CreateOptionsInput {
  name: string;
  image: string;
  env?: Record<string, string>;
  labels?: Record<string, string>;
  cmd?: string[];
  memoryBytes?: number;
  nanoCpus?: number;
  pidsLimit?: number;
  networks?: string[];
  volumeMounts?: VolumeMount[];
  publishPort?: PublishPort;
  restartPolicy: RestartPolicyName;
  user?: string;
}

function buildCreateOptions(input: CreateOptionsInput): Docker.ContainerCreateOptions {
  const networks = input.networks ?? [];
  const primaryNetwork = networks[0] ?? 'bridge';
  const hostConfig: Docker.HostConfig = {
    NetworkMode: primaryNetwork,
    RestartPolicy: { Name: input.restartPolicy },
    SecurityOpt: SECURITY_OPTS,
    CapDrop: CAP_DROP,
    Mounts: (input.volumeMounts ?? []).map((mount) => ({
      Type: mount.bind ? 'bind' : 'volume',
      Source: mount.volume,
      Target: mount.path,
      ReadOnly: mount.readOnly ?? false,
    })),
    LogConfig: { Type: 'json-file', Config: { 'max-size': '10m', 'max-file': '3' } },
  };
  if (input.memoryBytes !== undefined) {
    hostConfig.Memory = input.memoryBytes;
    // Same value: no swap on top of the limit, so the limit is what the customer pays for.
    hostConfig.MemorySwap = input.memoryBytes;
  }
  if (input.nanoCpus !== undefined) {
    hostConfig.NanoCpus = input.nanoCpus;
  }
  if (input.pidsLimit !== undefined) {
    hostConfig.PidsLimit = input.pidsLimit;
  }
  const options: Docker.ContainerCreateOptions = {
    name: input.name,
    Image: input.image,
    Env: envList(input.env),
    Labels: input.labels ?? {},
    HostConfig: hostConfig,
    NetworkingConfig: { EndpointsConfig: { [primaryNetwork]: {} } },
  };
  if (input.cmd) {
    options.Cmd = input.cmd;
  }
  if (input.user) {
    options.User = input.user;
  }
  if (input.publishPort) {
    const port = `${input.publishPort.containerPort}/tcp`;
    options.ExposedPorts = { [port]: {} };
    hostConfig.PortBindings = {
      [port]: [
        {
          HostIp: input.publishPort.hostIp,
          HostPort: input.publishPort.hostPort ? String(input.publishPort.hostPort) : '',
        },
      ],
    };
  }
  return options;
}

function specDifferences(info: Docker.ContainerInspectInfo, spec: ContainerSpec): string[] {
  const differences: string[] = [];
  const host = info.HostConfig;
  if (info.Config.Image !== spec.image) {
    differences.push(`image ${info.Config.Image} != ${spec.image}`);
  }
  const labels = info.Config.Labels ?? {};
  for (const [key, value] of Object.entries(spec.labels)) {
    if (labels[key] !== value) {
      differences.push(`label ${key}`);
    }
  }
  const env = new Set(info.Config.Env ?? []);
  for (const entry of envList(spec.env)) {
    if (!env.has(entry)) {
      differences.push(`env ${entry.slice(0, entry.indexOf('='))}`);
    }
  }
  if (spec.cmd && JSON.stringify(info.Config.Cmd ?? []) !== JSON.stringify(spec.cmd)) {
    differences.push('cmd');
  }
  if (host.Memory !== spec.memoryBytes) {
    differences.push(`memory ${host.Memory} != ${spec.memoryBytes}`);
  }
  if (host.NanoCpus !== spec.nanoCpus) {
    differences.push(`nanoCpus ${host.NanoCpus} != ${spec.nanoCpus}`);
  }
  if (host.PidsLimit !== spec.pidsLimit) {
    differences.push(`pidsLimit ${host.PidsLimit} != ${spec.pidsLimit}`);
  }
  const restartPolicy = spec.restartPolicy ?? 'unless-stopped';
  if (host.RestartPolicy?.Name !== restartPolicy) {
    differences.push(`restart policy ${host.RestartPolicy?.Name} != ${restartPolicy}`);
  }
  const securityOpts = stringArray(host.SecurityOpt);
  if (!SECURITY_OPTS.every((opt) => securityOpts.includes(opt))) {
    differences.push('security options');
  }
  const capDrop = stringArray(host.CapDrop);
  if (!CAP_DROP.every((cap) => capDrop.includes(cap))) {
    differences.push('dropped capabilities');
  }
  for (const mount of spec.volumeMounts) {
    const found = info.Mounts.some(
      (m) =>
        m.Destination === mount.path &&
        (mount.bind
          ? m.Type === 'bind' && m.Source === mount.volume
          : m.Type === 'volume' && m.Name === mount.volume),
    );
    if (!found) {
      differences.push(`mount ${mount.volume}:${mount.path}`);
    }
  }
  if (spec.publishPort) {
    const bindings: unknown = host.PortBindings;
    const port = `${spec.publishPort.containerPort}/tcp`;
    const entries =
      typeof bindings === 'object' && bindings !== null && port in bindings
        ? (bindings as Record<string, Docker.PortBinding[] | null>)[port]
        : null;
    if (!entries?.some((binding) => binding.HostIp === spec.publishPort?.hostIp)) {
      differences.push(`published port ${port}`);
    }
  }
  return differences;
}

class RecentKeys {
  private readonly keys = new Set<string>();

  constructor(private readonly capacity: number) {}

  /** Returns false when the key was already seen. */
  add(key: string): boolean {
    if (this.keys.has(key)) {
      return false;
    }
    this.keys.add(key);
    if (this.keys.size > this.capacity) {
      const oldest = this.keys.values().next();
      if (!oldest.done) {
        this.keys.delete(oldest.value);
      }
    }
    return true;
  }
}

function parseContainerEvent(line: string): ContainerEvent | null {
  const raw: unknown = JSON.parse(line);
  if (typeof raw !== 'object' || raw === null) {
    return null;
  }
  const record = raw as Record<string, unknown>;
  const actor = record.Actor;
  if (record.Type !== 'container' || typeof actor !== 'object' || actor === null) {
    return null;
  }
  const actorRecord = actor as Record<string, unknown>;
  const attributes = stringRecord(actorRecord.Attributes);
  const instanceId = attributes[INSTANCE_ID_LABEL];
  const action = typeof record.Action === 'string' ? record.Action : record.status;
  const containerId = typeof actorRecord.ID === 'string' ? actorRecord.ID : record.id;
  if (instanceId === undefined || typeof action !== 'string' || typeof containerId !== 'string') {
    return null;
  }
  const timeNano =
    typeof record.timeNano === 'number'
      ? BigInt(record.timeNano)
      : BigInt(typeof record.time === 'number' ? record.time : 0) * 1_000_000_000n;
  const exitCode = attributes.exitCode !== undefined ? Number(attributes.exitCode) : undefined;
  return {
    action,
    containerId,
    containerName: attributes.name,
    instanceId,
    attributes,
    exitCode: exitCode !== undefined && Number.isFinite(exitCode) ? exitCode : undefined,
    time: new Date(Number(timeNano / 1_000_000n)),
    timeNano,
  };
}

/**
 * The only place the platform talks to the Docker engine. Every call is awaited; failures surface as
 * `DockerRuntimeError` (404 → `DockerNotFoundError`, 409 → `DockerConflictError`) naming the operation.
 * Operations are idempotent so a retried lifecycle job converges instead of failing on its own leftovers.
 */
@Injectable()
export class DockerRuntime {
  private readonly logger = new Logger(DockerRuntime.name);

  constructor(@Inject(DOCKER_CLIENT) private readonly docker: Docker) {}

  async ping(): Promise<void> {
    await this.call('ping', () => this.docker.ping());
  }

  // ---- networks -------------------------------------------------------------------------------------------

  /** Creates a user-defined bridge network (not internal, so Odoo can reach the outside) unless it exists. */
  async ensureNetwork(name: string, labels: Record<string, string>): Promise<string> {
    const existing = await this.findNetwork(name);
    if (existing) {
      return existing.Id;
    }
    try {
      const network = await this.docker.createNetwork({
        Name: name,
        Driver: 'bridge',
        Internal: false,
        Attachable: true,
        CheckDuplicate: true,
        Labels: labels,
      });
      return network.id;
    } catch (error) {
      const mapped = toRuntimeError('ensureNetwork', error);
      if (mapped.statusCode === 409) {
        const raced = await this.findNetwork(name);
        if (raced) {
          return raced.Id;
        }
      }
      throw mapped;
    }
  }

  async findNetwork(name: string): Promise<Docker.NetworkInspectInfo | null> {
    try {
      const info = await this.docker.getNetwork(name).inspect();
      // The engine also resolves ID prefixes; only an exact name counts.
      return info.Name === name ? info : null;
    } catch (error) {
      const mapped = toRuntimeError('findNetwork', error);
      if (mapped instanceof DockerNotFoundError) {
        return null;
      }
      throw mapped;
    }
  }

  /**
   * Removes the network unless a container, running or not, is attached. Docker itself only refuses while
   * endpoints are active and would silently orphan stopped containers, so stopped ones are checked here.
   */
  async removeNetworkIfUnused(name: string): Promise<NetworkRemoval> {
    const network = await this.findNetwork(name);
    if (!network) {
      return 'missing';
    }
    const attached = await this.call('removeNetworkIfUnused', () =>
      // By name too: a container that never started has no NetworkID yet.
      this.docker.listContainers({ all: true, filters: { network: [network.Name, network.Id] } }),
    );
    if (attached.length > 0 || Object.keys(network.Containers ?? {}).length > 0) {
      return 'in_use';
    }
    try {
      await this.docker.getNetwork(network.Id).remove();
      return 'removed';
    } catch (error) {
      const mapped = toRuntimeError('removeNetworkIfUnused', error);
      if (mapped instanceof DockerNotFoundError) {
        return 'missing';
      }
      if (mapped.statusCode === 403 || mapped.statusCode === 409) {
        return 'in_use';
      }
      throw mapped;
    }
  }

  /** Networks carrying every one of `labels` (`key` or `key=value`). */
  async listNetworks(labels: string[]): Promise<Docker.NetworkInspectInfo[]> {
    return this.call('listNetworks', () => this.docker.listNetworks({ filters: { label: labels } }));
  }

  /** Containers (running or not) attached to `network`, optionally narrowed by labels (`key=value`). */
  async listNetworkContainers(network: string, labels: string[] = []): Promise<Docker.ContainerInfo[]> {
    return this.call('listNetworkContainers', () =>
      this.docker.listContainers({
        all: true,
        filters: { network: [network], ...(labels.length ? { label: labels } : {}) },
      }),
    );
  }

  /** Attaches a running container to `network` under extra DNS `aliases`; already attached is fine. */
  async connectToNetwork(containerId: string, network: string, aliases: string[] = []): Promise<void> {
    try {
      await this.docker
        .getNetwork(network)
        .connect({ Container: containerId, EndpointConfig: aliases.length ? { Aliases: aliases } : {} });
    } catch (error) {
      const mapped = toRuntimeError('connectToNetwork', error);
      if (!(mapped.statusCode === 403 && /already exists/i.test(mapped.message))) {
        throw mapped;
      }
    }
  }

  /** Detaches the container from `network`; not attached or gone is fine. */
  async disconnectFromNetwork(containerId: string, network: string): Promise<void> {
    try {
      await this.docker.getNetwork(network).disconnect({ Container: containerId, Force: true });
    } catch (error) {
      const mapped = toRuntimeError('disconnectFromNetwork', error);
      if (!(mapped instanceof DockerNotFoundError) && !/not connected/i.test(mapped.message)) {
        throw mapped;
      }
    }
  }

  // ---- volumes --------------------------------------------------------------------------------------------

  /** Creates the volume unless it exists (the engine returns an existing one of that name as it is). */
  async ensureVolume(name: string, labels: Record<string, string>): Promise<string> {
    const volume = await this.call('ensureVolume', () =>
      this.docker.createVolume({ Name: name, Driver: 'local', Labels: labels }),
    );
    return volume.name;
  }

  /** Throws `DockerConflictError` while a container (even a stopped one) uses the volume. */
  /** Bytes used by each local volume (`docker system df`); volumes the engine could not size are absent. */
  async volumeSizes(): Promise<Map<string, number>> {
    const df = (await this.call('volumeSizes', () => this.docker.df())) as {
      Volumes?: { Name: string; UsageData?: { Size?: number } | null }[] | null;
    };
    const sizes = new Map<string, number>();
    for (const volume of df.Volumes ?? []) {
      const size = volume.UsageData?.Size;
      if (typeof size === 'number' && size >= 0) sizes.set(volume.Name, size);
    }
    return sizes;
  }

  async removeVolume(name: string): Promise<VolumeRemoval> {
    try {
      await this.docker.getVolume(name).remove();
      return 'removed';
    } catch (error) {
      const mapped = toRuntimeError('removeVolume', error);
      if (mapped instanceof DockerNotFoundError) {
        return 'missing';
      }
      throw mapped;
    }
  }

  // ---- containers -----------------------------------------------------------------------------------------

  /** Inspects by exact name; null when no container has that name. */
  async findContainer(name: string): Promise<Docker.ContainerInspectInfo | null> {
    try {
      const info = await this.docker.getContainer(name).inspect();
      if (info.Name === `/${name}`) {
        return info;
      }
    } catch (error) {
      const mapped = toRuntimeError('findContainer', error);
      if (!(mapped instanceof DockerNotFoundError)) {
        throw mapped;
      }
      return null;
    }
    // `name` matched another container's ID prefix: look the name up explicitly.
    const matches = await this.call('findContainer', () =>
      this.docker.listContainers({ all: true, filters: { name: [`^/${name}$`] } }),
    );
    return matches[0] ? this.inspectContainer(matches[0].Id) : null;
  }

  /** Throws `DockerNotFoundError` when the container does not exist. */
  async inspectContainer(idOrName: string): Promise<Docker.ContainerInspectInfo> {
    return this.call('inspectContainer', () => this.docker.getContainer(idOrName).inspect());
  }

  /**
   * Creates the container (not started) with the platform's limits and hardening: memory (no extra swap),
   * CPU, pids, `no-new-privileges`, every capability dropped. An existing container with the same name is
   * returned when it matches the spec (missing networks are connected); otherwise
   * `ContainerSpecMismatchError` tells the caller to remove and recreate it.
   */
  async createContainer(spec: ContainerSpec): Promise<CreateContainerResult> {
    // Created first, looked up only on a name conflict (a retry, a race): one engine call when all is well.
    let id: string;
    try {
      const container = await this.docker.createContainer(
        buildCreateOptions({ ...spec, restartPolicy: spec.restartPolicy ?? 'unless-stopped' }),
      );
      id = container.id;
    } catch (error) {
      const mapped = toRuntimeError('createContainer', error);
      if (mapped instanceof DockerConflictError) {
        const existing = await this.findContainer(spec.name);
        if (existing) {
          return this.adoptContainer(existing, spec);
        }
      }
      throw mapped;
    }
    await this.connectNetworks(id, spec.networks.slice(1));
    return { id, created: true };
  }

  async startContainer(id: string): Promise<StartResult> {
    try {
      await this.docker.getContainer(id).start();
      return 'started';
    } catch (error) {
      const mapped = toRuntimeError('startContainer', error);
      if (mapped.statusCode === 304) {
        return 'already_running';
      }
      throw mapped;
    }
  }

  /** SIGTERM, then SIGKILL after `timeoutSec`. A stopped or missing container is not an error. */
  async stopContainer(id: string, timeoutSec: number): Promise<StopResult> {
    try {
      await this.docker.getContainer(id).stop({ t: timeoutSec });
      return 'stopped';
    } catch (error) {
      const mapped = toRuntimeError('stopContainer', error);
      if (mapped.statusCode === 304) {
        return 'not_running';
      }
      if (mapped instanceof DockerNotFoundError) {
        return 'missing';
      }
      throw mapped;
    }
  }

  async restartContainer(id: string, timeoutSec: number): Promise<void> {
    await this.call('restartContainer', () => this.docker.getContainer(id).restart({ t: timeoutSec }));
  }

  /**
   * Removes the container and its anonymous volumes (never named ones). Returns false when it was already
   * gone; waits out a removal already in progress.
   */
  async removeContainer(id: string, options: { force?: boolean } = {}): Promise<boolean> {
    try {
      await this.docker.getContainer(id).remove({ force: options.force ?? false, v: true });
      return true;
    } catch (error) {
      const mapped = toRuntimeError('removeContainer', error);
      if (mapped instanceof DockerNotFoundError) {
        return false;
      }
      if (mapped instanceof DockerConflictError && /already in progress/i.test(mapped.message)) {
        await this.waitUntilGone(id, 30_000);
        return true;
      }
      throw mapped;
    }
  }

  async updateResources(id: string, limits: ResourceLimits): Promise<void> {
    const update: Record<string, number> = {};
    if (limits.memoryBytes !== undefined) {
      update.Memory = limits.memoryBytes;
      update.MemorySwap = limits.memoryBytes;
    }
    if (limits.nanoCpus !== undefined) {
      update.NanoCpus = limits.nanoCpus;
    }
    if (limits.pidsLimit !== undefined) {
      update.PidsLimit = limits.pidsLimit;
    }
    if (Object.keys(update).length === 0) {
      return;
    }
    await this.call('updateResources', () => this.docker.getContainer(id).update(update));
  }

  /** Host port bound to `containerPort`, or null when nothing is published (e.g. the container is stopped). */
  async publishedPort(id: string, containerPort = 8069): Promise<number | null> {
    const info = await this.inspectContainer(id);
    const bindings = info.NetworkSettings.Ports?.[`${containerPort}/tcp`] ?? [];
    const port = bindings.map((binding) => Number(binding.HostPort)).find((value) => value > 0);
    return port ?? null;
  }

  /** The container's address on `network`, or null when it is not attached or not running. */
  async containerIp(id: string, network: string): Promise<string | null> {
    const info = await this.inspectContainer(id);
    const address = info.NetworkSettings.Networks?.[network]?.IPAddress;
    return address ? address : null;
  }

  /** The last `lines` lines (all when omitted) of stdout and stderr, interleaved as written. */
  async logs(id: string, lines?: number): Promise<string> {
    const container = this.docker.getContainer(id);
    const info = await this.inspectContainer(id);
    const payload: unknown = await this.call('logs', () =>
      container.logs({
        stdout: true,
        stderr: true,
        follow: false,
        ...(lines !== undefined ? { tail: lines } : {}),
      }),
    );
    const buffer = toBuffer(payload);
    return (info.Config.Tty ? buffer : demuxDockerStream(buffer).combined).toString('utf8');
  }

  /** Managed containers (label `saasodoo.instance.id`), running or not, optionally narrowed by more labels. */
  async listManaged(labels: Record<string, string> = {}): Promise<Docker.ContainerInfo[]> {
    const filters = [INSTANCE_ID_LABEL, ...Object.entries(labels).map(([key, value]) => `${key}=${value}`)];
    return this.call('listManaged', () =>
      this.docker.listContainers({ all: true, filters: { label: filters } }),
    );
  }

  // ---- one-shots, exec, archives ----------------------------------------------------------------------------

  /**
   * Runs a command to completion in a throwaway container (same hardening as instances, restart policy
   * `no`) and returns its exit code and output. The container is always removed, also on failure.
   */
  async runOneShot(spec: OneShotSpec): Promise<OneShotResult> {
    const name = spec.name ?? `saasodoo-oneshot-${randomBytes(6).toString('hex')}`;
    const stale = await this.findContainer(name);
    if (stale) {
      await this.removeContainer(stale.Id, { force: true });
    }
    const container = await this.call('runOneShot', () =>
      this.docker.createContainer(
        buildCreateOptions({
          name,
          image: spec.image,
          cmd: spec.cmd,
          env: spec.env,
          labels: spec.labels,
          networks: spec.networks,
          volumeMounts: spec.volumeMounts,
          memoryBytes: spec.memoryBytes,
          nanoCpus: spec.nanoCpus,
          pidsLimit: spec.pidsLimit,
          user: spec.user,
          restartPolicy: 'no',
        }),
      ),
    );
    let result: OneShotResult | undefined;
    let failure: unknown;
    try {
      await this.connectNetworks(container.id, (spec.networks ?? []).slice(1));
      await this.call('runOneShot', () => container.start());
      const exitCode = await this.waitForExit(container, spec.timeoutMs);
      const output = await this.logs(container.id);
      if (exitCode === null) {
        throw new OneShotTimeoutError(spec.timeoutMs ?? 0, output);
      }
      if (exitCode === 0 && spec.onSuccess) await spec.onSuccess(container.id);
      result = { exitCode, output };
    } catch (error) {
      failure = error;
    }
    try {
      await this.removeContainer(container.id, { force: true });
    } catch (removeError) {
      if (failure === undefined) {
        throw removeError;
      }
      this.logger.warn(`runOneShot: could not remove ${name} after a failure: ${errorMessage(removeError)}`);
    }
    if (failure !== undefined || result === undefined) {
      throw failure instanceof Error ? failure : toRuntimeError('runOneShot', failure);
    }
    return result;
  }

  /** Runs `cmd` in a running container. Output is decoded as UTF-8; use `copyFromContainer` for binaries. */
  async execInContainer(id: string, cmd: string[], options: ExecOptions = {}): Promise<ExecResult> {
    const exec = await this.call('execInContainer', () =>
      this.docker.getContainer(id).exec({
        Cmd: cmd,
        AttachStdout: true,
        AttachStderr: true,
        ...(options.user ? { User: options.user } : {}),
        ...(options.env ? { Env: envList(options.env) } : {}),
        ...(options.workingDir ? { WorkingDir: options.workingDir } : {}),
      }),
    );
    const raw = await this.call('execInContainer', async () => {
      const stream = await exec.start({ hijack: true, stdin: false });
      return readAll(stream);
    });
    const output = demuxDockerStream(raw);
    let inspect = await this.call('execInContainer', () => exec.inspect());
    for (let attempt = 0; inspect.Running && attempt < 50; attempt += 1) {
      await sleep(100);
      inspect = await this.call('execInContainer', () => exec.inspect());
    }
    if (inspect.ExitCode === null) {
      throw new DockerRuntimeError('execInContainer', `no exit code for ${cmd.join(' ')}`);
    }
    return {
      exitCode: inspect.ExitCode,
      stdout: output.stdout.toString('utf8'),
      stderr: output.stderr.toString('utf8'),
    };
  }

  /** A tar stream of `path` (works on stopped containers too); ownership and modes are preserved. */
  async copyFromContainer(id: string, path: string): Promise<NodeJS.ReadableStream> {
    return this.call('copyFromContainer', () => this.docker.getContainer(id).getArchive({ path }));
  }

  async copyFromContainerToBuffer(id: string, path: string): Promise<Buffer> {
    const stream = await this.copyFromContainer(id, path);
    return this.call('copyFromContainer', () => readAll(stream));
  }

  /** Extracts a tar archive into the existing directory `path` of the container. */
  async copyToContainer(id: string, path: string, tar: Buffer | NodeJS.ReadableStream): Promise<void> {
    await this.call('copyToContainer', () => this.docker.getContainer(id).putArchive(tar, { path }));
  }

  // ---- events ---------------------------------------------------------------------------------------------

  /**
   * Delivers container events (default: start, die, stop, destroy, oom) of managed containers to `onEvent`,
   * one at a time, in order. When the stream ends or fails it reconnects with backoff and resumes from the
   * last event seen (duplicates are dropped). The returned promise settles only once `signal` is aborted.
   */
  async events(
    onEvent: (event: ContainerEvent) => void | Promise<void>,
    signal: AbortSignal,
    options: EventsOptions = {},
  ): Promise<void> {
    const onError =
      options.onError ?? ((error: Error): void => this.logger.warn(`docker events: ${error.message}`));
    const baseDelay = options.reconnectDelayMs ?? 1_000;
    const maxDelay = options.maxReconnectDelayMs ?? 30_000;
    const seen = new RecentKeys(1_024);
    let resumeFrom: number | undefined =
      options.since !== undefined ? Math.floor(options.since.getTime() / 1000) : undefined;
    let delay = baseDelay;

    while (!signal.aborted) {
      let lastEventSec: number | undefined;
      let connectedAtSec: number | undefined;
      try {
        const stream = await this.docker.getEvents({
          ...(resumeFrom !== undefined ? { since: resumeFrom } : {}),
          filters: {
            type: ['container'],
            event: [...(options.actions ?? DEFAULT_EVENT_ACTIONS)],
            label: [INSTANCE_ID_LABEL, ...(options.labels ?? [])],
          },
          abortSignal: signal,
        });
        connectedAtSec = Math.floor(Date.now() / 1000);
        delay = baseDelay;
        options.onConnect?.();
        const decoder = new StringDecoder('utf8');
        let pending = '';
        const dispatch = async (line: string): Promise<void> => {
          const event = this.parseEventLine(line, onError);
          if (!event || !seen.add(`${event.containerId}:${event.action}:${event.timeNano}`)) {
            return;
          }
          lastEventSec = Number(event.timeNano / 1_000_000_000n);
          try {
            await onEvent(event);
          } catch (error) {
            onError(toRuntimeError('events.handler', error));
          }
        };
        for await (const chunk of stream) {
          pending += typeof chunk === 'string' ? chunk : decoder.write(chunk);
          let newline = pending.indexOf('\n');
          while (newline >= 0) {
            const line = pending.slice(0, newline).trim();
            pending = pending.slice(newline + 1);
            if (line) {
              await dispatch(line);
            }
            newline = pending.indexOf('\n');
          }
        }
        const rest = (pending + decoder.end()).trim();
        if (rest) {
          await dispatch(rest);
        }
        if (!signal.aborted) {
          onError(new DockerRuntimeError('events', 'event stream ended; reconnecting'));
        }
      } catch (error) {
        if (signal.aborted) {
          break;
        }
        onError(toRuntimeError('events', error));
      }
      // Resume where this connection left off; a little overlap is harmless thanks to `seen`.
      if (lastEventSec !== undefined) {
        resumeFrom = lastEventSec;
      } else if (connectedAtSec !== undefined) {
        resumeFrom = connectedAtSec - 2;
      }
      try {
        await sleep(delay, undefined, { signal });
      } catch {
        break;
      }
      delay = Math.min(delay * 2, maxDelay);
    }
  }

  // ---- HTTP readiness -------------------------------------------------------------------------------------

  /** Polls `baseUrl` + `path` (default `/web/health`) until it answers 200. */
  async waitForHttp(baseUrl: string, options: WaitForHttpOptions): Promise<HttpWaitResult> {
    const url = new URL(options.path ?? '/web/health', baseUrl).toString();
    const intervalMs = options.intervalMs ?? 1_000;
    const requestTimeoutMs = options.requestTimeoutMs ?? 5_000;
    const started = Date.now();
    const deadline = started + options.timeoutMs;
    let attempts = 0;
    let lastStatus: number | undefined;
    let lastError: string | undefined;

    for (;;) {
      options.signal?.throwIfAborted();
      attempts += 1;
      // The last attempt may overrun the deadline a little rather than be doomed by a ~0 ms budget.
      const remaining = Math.max(500, deadline - Date.now());
      const timeout = AbortSignal.timeout(Math.min(requestTimeoutMs, remaining));
      try {
        const response = await fetch(url, {
          signal: options.signal ? AbortSignal.any([timeout, options.signal]) : timeout,
        });
        const body = await response.text();
        if (response.status === 200) {
          return { url, status: 200, body, attempts, elapsedMs: Date.now() - started };
        }
        lastStatus = response.status;
      } catch (error) {
        options.signal?.throwIfAborted();
        lastError = error instanceof Error ? `${error.message}${causeSuffix(error)}` : String(error);
      }
      const wait = Math.min(intervalMs, deadline - Date.now());
      if (wait <= 0) {
        throw new HttpWaitTimeoutError(url, options.timeoutMs, attempts, lastStatus, lastError);
      }
      await sleep(wait, undefined, options.signal ? { signal: options.signal } : undefined);
    }
  }

  // ---- internals ------------------------------------------------------------------------------------------

  private async call<T>(operation: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (error) {
      throw toRuntimeError(operation, error);
    }
  }

  private async adoptContainer(
    info: Docker.ContainerInspectInfo,
    spec: ContainerSpec,
  ): Promise<CreateContainerResult> {
    const differences = specDifferences(info, spec);
    if (differences.length > 0) {
      throw new ContainerSpecMismatchError(info.Id, differences);
    }
    const attached = new Set(Object.keys(info.NetworkSettings.Networks ?? {}));
    attached.add(info.HostConfig.NetworkMode ?? '');
    await this.connectNetworks(
      info.Id,
      spec.networks.filter((network) => !attached.has(network)),
    );
    return { id: info.Id, created: false };
  }

  private async connectNetworks(id: string, networks: string[]): Promise<void> {
    for (const network of networks) {
      try {
        await this.docker.getNetwork(network).connect({ Container: id });
      } catch (error) {
        const mapped = toRuntimeError('connectNetwork', error);
        // "endpoint already exists": a retry after a partial success.
        if (!(mapped.statusCode === 403 && /already exists/i.test(mapped.message))) {
          throw mapped;
        }
      }
    }
  }

  /** Exit code, or null when `timeoutMs` passed (the container is then killed). */
  private async waitForExit(
    container: Docker.Container,
    timeoutMs: number | undefined,
  ): Promise<number | null> {
    const waiting = this.call('runOneShot.wait', async () => {
      const response: unknown = await container.wait();
      const statusCode =
        typeof response === 'object' && response !== null && 'StatusCode' in response
          ? response.StatusCode
          : undefined;
      if (typeof statusCode !== 'number') {
        throw new DockerRuntimeError(
          'runOneShot.wait',
          `unexpected wait response ${JSON.stringify(response)}`,
        );
      }
      return statusCode;
    });
    if (timeoutMs === undefined) {
      return waiting;
    }
    const timer = new AbortController();
    const timedOut = sleep(timeoutMs, 'timeout' as const, { signal: timer.signal }).catch(
      () => 'cancelled' as const,
    );
    let first: number | 'timeout' | 'cancelled';
    try {
      first = await Promise.race([waiting, timedOut]);
    } finally {
      timer.abort();
    }
    if (first !== 'timeout') {
      return typeof first === 'number' ? first : waiting;
    }
    try {
      await container.kill();
    } catch (error) {
      const mapped = toRuntimeError('runOneShot.kill', error);
      // 409: it exited between the timer and the kill.
      if (mapped.statusCode !== 409) {
        throw mapped;
      }
      return waiting;
    }
    await waiting;
    return null;
  }

  private async waitUntilGone(id: string, timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      try {
        await this.docker.getContainer(id).inspect();
      } catch (error) {
        if (toRuntimeError('removeContainer', error) instanceof DockerNotFoundError) {
          return;
        }
      }
      await sleep(200);
    }
    throw new DockerRuntimeError('removeContainer', `container ${id} still exists after ${timeoutMs} ms`);
  }

  private parseEventLine(line: string, onError: (error: Error) => void): ContainerEvent | null {
    try {
      return parseContainerEvent(line);
    } catch (error) {
      onError(
        new DockerRuntimeError('events', `unparseable event line ${line.slice(0, 200)}`, { cause: error }),
      );
      return null;
    }
  }
}

function causeSuffix(error: Error): string {
  const { cause } = error;
  return cause instanceof Error ? ` (${cause.message})` : '';
}
