import Docker from 'dockerode';
import { randomBytes } from 'node:crypto';
import { chmod, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { waitFor } from '../wait-for';
import { type LabTask, runOnce, tasksOf } from './containers';
import { commandExists, run, unmountAllUnder } from './host';
import {
  allLabTraces,
  cleanupStaleLabs,
  killNodeProcesses,
  LAB_DIR_PREFIX,
  LAB_NAME_PREFIX,
  type LabNodeState,
  type LabState,
  leftoversOf,
  saveState,
  teardown,
} from './lab-state';
import { createBridge, createNodeNetwork, pickUnusedSubnet, probeIpsec, SubnetTakenError } from './network';
import { startDaemon } from './node-daemon';
import { TcpForwarder } from './tcp-forwarder';

export interface SwarmLabOptions {
  /** Number of nodes (default 3). Node 1 is the first manager. */
  nodes?: number;
  /** How many nodes are managers (default 1). Kill only workers unless this is 3 or more. */
  managers?: number;
  /** Images copied from the host engine into every node (`docker save | docker load`: no registry here). */
  images?: string[];
  /** Socket of the engine the images come from (default: DOCKER_HOST if unix://, else /var/run/docker.sock). */
  hostSocket?: string;
  /** Node labels by node index (1-based), applied once the nodes are in the swarm. */
  labels?: Record<number, Record<string, string>>;
  /** Swarm dispatcher heartbeat (default 2 s; Docker's is 5 s): a killed node shows Down after ~3 heartbeats. */
  heartbeatSeconds?: number;
  /** Forward <bridge address>:port to the host's Postgres (default: POSTGRES_HOST/PORT or 127.0.0.1:5432); false: no forwarder. */
  postgres?: { host?: string; port?: number } | false;
}

export type NodeAvailability = 'active' | 'pause' | 'drain';
export type NodeState = 'ready' | 'down' | 'unknown' | 'disconnected';

export interface SwarmLabNode {
  index: number;
  /** Also the node's hostname in `docker node ls` (swl-<lab id>-n<index>). */
  name: string;
  /** The node's address on the lab bridge (swarm advertise address). */
  address: string;
  /** dockerd socket: `new Docker({ socketPath })`, or `docker -H unix://<socketPath>`. */
  socketPath: string;
  /** The same as a DOCKER_HOST value (unix://<socketPath>), e.g. for the worker's env. */
  dockerHost: string;
  /** Swarm node id (for `node.id==` constraints). */
  id: string;
  role: 'manager' | 'worker';
  netns: string;
  docker: Docker;
}

interface SwarmNodeInfo {
  ID: string;
  Version: { Index: number };
  Spec: { Labels?: Record<string, string>; Role: string; Availability: NodeAvailability };
  Status: { State: NodeState };
}

/**
 * A real multi-node Docker Swarm on one machine, for tests: one dockerd per network namespace, all on one
 * host bridge, each with its own data-root, exec-root and socket. See README.md beside this file.
 */
export class SwarmLab {
  readonly nodes: SwarmLabNode[] = [];
  /** Where the host's Postgres is reachable from containers in the lab (undefined with postgres: false). */
  postgres?: { host: string; port: number };
  private forwarder?: TcpForwarder;
  private stopped = false;

  private constructor(private readonly state: LabState) {}

  get id(): string {
    return this.state.id;
  }

  /** The host's address on the lab bridge: containers in the lab reach the host (and Postgres) there. */
  get bridgeAddress(): string {
    return this.state.bridgeAddress;
  }

  /** A host directory every node can bind-mount at the same path ("shared storage"); mode 0777. */
  get sharedDir(): string {
    return join(this.state.dir, 'shared');
  }

  get manager(): SwarmLabNode {
    return this.node(1);
  }

  node(index: number): SwarmLabNode {
    const node = this.nodes[index - 1];
    if (!node) throw new Error(`swarm-lab: no node ${index} (the lab has ${this.nodes.length})`);
    return node;
  }

  static async start(options: SwarmLabOptions = {}): Promise<SwarmLab> {
    await requirePrerequisites();
    for (let attempt = 1; ; attempt++) {
      try {
        return await SwarmLab.startOnce(options);
      } catch (error) {
        // Two labs started side by side picked the same /24: the loser tries another.
        if (!(error instanceof SubnetTakenError) || attempt >= 3) throw error;
      }
    }
  }

  private static async startOnce(options: SwarmLabOptions): Promise<SwarmLab> {
    const count = options.nodes ?? 3;
    const managers = Math.min(options.managers ?? 1, count);
    const id = randomBytes(2).toString('hex');
    const dir = join(tmpdir(), `${LAB_DIR_PREFIX}${id}`);
    await mkdir(dir);
    const base = await pickUnusedSubnet();
    const nodes: LabNodeState[] = Array.from({ length: count }, (_, i) => ({
      index: i + 1,
      name: `${LAB_NAME_PREFIX}-${id}-n${i + 1}`,
      netns: `${LAB_NAME_PREFIX}-${id}-n${i + 1}`,
      hostVeth: `${LAB_NAME_PREFIX}${id}h${i + 1}`,
      address: `${base}.${11 + i}`,
      dir: join(dir, `n${i + 1}`),
      socketPath: join(dir, `n${i + 1}`, 'docker.sock'),
    }));
    const state: LabState = {
      id,
      ownerPid: process.pid,
      dir,
      bridge: `${LAB_NAME_PREFIX}${id}`,
      bridgeAddress: `${base}.1`,
      nodes,
    };
    await saveState(state);
    const lab = new SwarmLab(state);
    try {
      await lab.build(options, managers);
    } catch (error) {
      await lab.stop().catch(() => undefined);
      throw error;
    }
    return lab;
  }

  private async build(options: SwarmLabOptions, managers: number): Promise<void> {
    const { state } = this;
    await mkdir(this.sharedDir);
    await chmod(this.sharedDir, 0o777);
    await createBridge(state.bridge, state.bridgeAddress);
    for (const node of state.nodes) {
      await mkdir(node.dir, { recursive: true });
      await createNodeNetwork(node.netns, node.hostVeth, state.bridge, node.address);
    }
    await Promise.all(state.nodes.map((node) => startDaemon(node)));
    await this.loadImages(options.images ?? [], options.hostSocket ?? hostEngineSocket());
    await this.formSwarm(managers, options.heartbeatSeconds ?? 2);
    for (const [index, labels] of Object.entries(options.labels ?? {})) {
      await this.label(this.node(Number(index)), labels);
    }
    if (options.postgres !== false) await this.forwardPostgres(options.postgres ?? {});
  }

  private async loadImages(images: string[], hostSocket: string): Promise<void> {
    if (images.length === 0) return;
    const tar = join(this.state.dir, 'images.tar');
    // Other tests restart the host engine for a few seconds now and then: give it half a minute.
    await waitFor(
      `docker save ${images.join(' ')} from ${hostSocket}`,
      () => run('docker', ['-H', `unix://${hostSocket}`, 'save', '-o', tar, ...images]).then(() => true),
      30_000,
      1_000,
    );
    await Promise.all(
      this.state.nodes.map((node) => run('docker', ['-H', `unix://${node.socketPath}`, 'load', '-i', tar])),
    );
  }

  private async formSwarm(managers: number, heartbeatSeconds: number): Promise<void> {
    const [first, ...others] = this.state.nodes;
    if (!first) throw new Error('swarm-lab: a lab needs at least one node');
    const leader = new Docker({ socketPath: first.socketPath });
    await leader.swarmInit({
      ListenAddr: `${first.address}:2377`,
      AdvertiseAddr: first.address,
      Spec: { Dispatcher: { HeartbeatPeriod: heartbeatSeconds * 1e9 } },
    });
    const tokens = ((await leader.swarmInspect()) as { JoinTokens: { Manager: string; Worker: string } })
      .JoinTokens;
    const join = (node: LabNodeState, token: string) =>
      new Docker({ socketPath: node.socketPath }).swarmJoin({
        ListenAddr: `${node.address}:2377`,
        AdvertiseAddr: node.address,
        RemoteAddrs: [`${first.address}:2377`],
        JoinToken: token,
      });
    // Managers one by one (each joins the raft group), then the workers together.
    for (const node of others.slice(0, managers - 1)) await join(node, tokens.Manager);
    await Promise.all(others.slice(managers - 1).map((node) => join(node, tokens.Worker)));
    for (const node of this.state.nodes) {
      const docker = new Docker({ socketPath: node.socketPath });
      const info = (await docker.info()) as { Swarm: { NodeID: string } };
      this.nodes.push({
        index: node.index,
        name: node.name,
        address: node.address,
        socketPath: node.socketPath,
        dockerHost: `unix://${node.socketPath}`,
        id: info.Swarm.NodeID,
        role: node.index <= managers ? 'manager' : 'worker',
        netns: node.netns,
        docker,
      });
    }
    await Promise.all(this.nodes.map((node) => this.waitForNodeState(node, 'ready')));
  }

  private async forwardPostgres(target: { host?: string; port?: number }): Promise<void> {
    const host = target.host ?? process.env.POSTGRES_HOST ?? '127.0.0.1';
    const port = target.port ?? Number(process.env.POSTGRES_PORT ?? 5432);
    const forwarder = new TcpForwarder(this.bridgeAddress, port, host, port);
    try {
      await forwarder.start();
      this.forwarder = forwarder;
    } catch (error) {
      // Postgres listening on every address already serves the bridge address itself.
      if ((error as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw error;
    }
    this.postgres = { host: this.bridgeAddress, port };
  }

  /** The swarm's view of a node (from the first manager). */
  async inspectNode(node: SwarmLabNode): Promise<SwarmNodeInfo> {
    return (await this.manager.docker.getNode(node.id).inspect()) as SwarmNodeInfo;
  }

  async waitForNodeState(node: SwarmLabNode, state: NodeState, timeoutMs = 60_000): Promise<void> {
    await waitFor(
      `${node.name} to be ${state}`,
      async () => (await this.inspectNode(node)).Status.State === state,
      timeoutMs,
      250,
    );
  }

  /** Changes a node's spec from its current version, retrying when another writer got there first. */
  private async updateNodeSpec(
    node: SwarmLabNode,
    change: (spec: SwarmNodeInfo['Spec']) => void,
  ): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      const current = await this.inspectNode(node);
      const spec = { ...current.Spec, Labels: { ...current.Spec.Labels } };
      change(spec);
      try {
        await this.manager.docker
          .getNode(node.id)
          .update({ _query: { version: current.Version.Index }, _body: spec });
        return;
      } catch (error) {
        if (attempt >= 5 || !/out of sequence/.test(String(error))) throw error;
      }
    }
  }

  async setAvailability(node: SwarmLabNode, availability: NodeAvailability): Promise<void> {
    await this.updateNodeSpec(node, (spec) => {
      spec.Availability = availability;
    });
  }

  drain(node: SwarmLabNode): Promise<void> {
    return this.setAvailability(node, 'drain');
  }

  activate(node: SwarmLabNode): Promise<void> {
    return this.setAvailability(node, 'active');
  }

  /** Adds (or, with value null, removes) node labels. */
  async label(node: SwarmLabNode, labels: Record<string, string | null>): Promise<void> {
    await this.updateNodeSpec(node, (spec) => {
      const merged = spec.Labels ?? {};
      for (const [key, value] of Object.entries(labels)) {
        if (value === null) delete merged[key];
        else merged[key] = value;
      }
      spec.Labels = merged;
    });
  }

  /** Power-off: SIGKILL the node's dockerd, its containerd, shims and containers. The swarm sees it Down. */
  async killNode(node: SwarmLabNode): Promise<void> {
    await killNodeProcesses(this.stateOf(node));
  }

  /** Power-cycles a node (kills what is left, then starts dockerd on the same data-root): it rejoins the swarm. */
  async restartNode(node: SwarmLabNode, timeoutMs = 60_000): Promise<void> {
    await killNodeProcesses(this.stateOf(node));
    await unmountAllUnder(this.stateOf(node).dir);
    await startDaemon(this.stateOf(node), timeoutMs);
    await this.waitForNodeState(node, 'ready', timeoutMs);
  }

  /** The tasks of a service (id or name), newest first, with the lab node each one is on. */
  async tasksOf(service: string): Promise<(LabTask & { node?: SwarmLabNode })[]> {
    const tasks = await tasksOf(this.manager.docker, service);
    return tasks.map((t) => ({ ...t, node: this.nodes.find((n) => n.id === t.nodeId) }));
  }

  /** The node where the service's task is running (undefined while none is). */
  async runningNode(service: string): Promise<SwarmLabNode | undefined> {
    const running = (await this.tasksOf(service)).find(
      (t) => t.state === 'running' && t.desiredState === 'running',
    );
    return running?.node;
  }

  /** Runs a throwaway container on a node to completion: its exit code and output. */
  runOnce(
    node: SwarmLabNode,
    image: string,
    command: string[],
    options: { network?: string; env?: string[]; binds?: string[]; timeoutMs?: number } = {},
  ): Promise<{ exitCode: number; output: string }> {
    return runOnce(node.docker, image, command, options);
  }

  /** Whether this kernel can carry an encrypted overlay (IPsec ESP, AES-GCM), and if not, its refusal. */
  async probeEncryptedOverlay(): Promise<{ ok: true } | { ok: false; error: string }> {
    return probeIpsec(this.manager.netns);
  }

  /** What this lab still holds on the host (processes, namespaces, links, iptables rule, mounts, files). */
  async leftovers(): Promise<string[]> {
    const found = await leftoversOf(this.state);
    if (this.forwarder?.listening) found.push(`Postgres forwarder on ${this.bridgeAddress}`);
    return found;
  }

  /** Tears the lab down: idempotent, and safe after a failed start. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    await this.forwarder?.stop();
    await teardown(this.state);
    this.stopped = true;
  }

  /** Tears down labs left by test runs that died (their owning process is gone); returns their ids. */
  static cleanupStale(): Promise<string[]> {
    return cleanupStaleLabs();
  }

  /** Every swarm-lab trace on the host, from any run (for a CI check after the tests). */
  static allTraces(): Promise<string[]> {
    return allLabTraces();
  }

  private stateOf(node: SwarmLabNode): LabNodeState {
    const state = this.state.nodes.find((n) => n.index === node.index);
    if (!state) throw new Error(`swarm-lab: ${node.name} is not a node of lab ${this.id}`);
    return state;
  }
}

function hostEngineSocket(): string {
  const host = process.env.DOCKER_HOST ?? '';
  return host.startsWith('unix://') ? host.slice('unix://'.length) : '/var/run/docker.sock';
}

async function requirePrerequisites(): Promise<void> {
  if (process.getuid?.() !== 0) throw new Error('swarm-lab: needs root (network namespaces, veth, dockerd)');
  const missing: string[] = [];
  for (const command of ['ip', 'nsenter', 'unshare', 'iptables', 'dockerd', 'docker', 'umount']) {
    if (!(await commandExists(command))) missing.push(command);
  }
  if (missing.length > 0) {
    throw new Error(
      `swarm-lab: missing ${missing.join(', ')} (iproute2, util-linux, iptables, docker.io; see scripts/bootstrap-deps.sh)`,
    );
  }
}
