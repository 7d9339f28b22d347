import { existsSync, readdirSync, readFileSync, rmdirSync } from 'node:fs';
import { rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  isAlive,
  mountsUnder,
  processesMentioning,
  run,
  shimContainerIds,
  signal,
  unmountAllUnder,
} from './host';
import { deleteNetwork, forwardRulePresent, linkExists, netnsExists } from './network';

export const LAB_DIR_PREFIX = 'swarm-lab-';
export const LAB_NAME_PREFIX = 'swl';

/** What a lab made on the host, written to <dir>/lab.json as it is made, so a crashed run can be cleaned. */
export interface LabNodeState {
  index: number;
  name: string;
  netns: string;
  hostVeth: string;
  address: string;
  dir: string;
  socketPath: string;
}

export interface LabState {
  id: string;
  ownerPid: number;
  dir: string;
  bridge: string;
  bridgeAddress: string;
  nodes: LabNodeState[];
}

export async function saveState(state: LabState): Promise<void> {
  await writeFile(join(state.dir, 'lab.json'), JSON.stringify(state, null, 2));
}

/** The dockerd processes of a node: the one we started (and its pid file names), nothing else. */
export function dockerdPids(node: LabNodeState): number[] {
  return processesMentioning(`${node.dir}/`).filter((pid) => {
    try {
      return readFileSync(`/proc/${pid}/cmdline`, 'utf8').startsWith('dockerd\0');
    } catch {
      return false;
    }
  });
}

async function waitUntilGone(pids: () => number[], timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (pids().some(isAlive)) {
    if (Date.now() > deadline) return false;
    await sleep(100);
  }
  return true;
}

function cgroupProcesses(containerId: string): number[] {
  for (const controller of ['pids', 'memory', 'unified', '']) {
    try {
      const procs = readFileSync(
        join('/sys/fs/cgroup', controller, 'docker', containerId, 'cgroup.procs'),
        'utf8',
      );
      return procs.split('\n').filter(Boolean).map(Number);
    } catch {
      /* not this hierarchy */
    }
  }
  return [];
}

/** Removes the (empty) cgroups Docker made for containers whose processes were killed under it. */
function removeContainerCgroups(containerIds: string[]): void {
  const root = '/sys/fs/cgroup';
  const controllers = existsSync(root) ? readdirSync(root) : [];
  for (const id of containerIds) {
    for (const controller of ['', ...controllers]) {
      const dir = join(root, controller, 'docker', id);
      try {
        if (existsSync(dir)) rmdirSync(dir);
      } catch {
        /* not empty or not ours to remove: leave it */
      }
    }
  }
}

/**
 * Power-off of a node: SIGKILL its dockerd, the containerd it started, the shims and the containers'
 * processes (all found by the node's directory in their command line, or as their descendants).
 */
export async function killNodeProcesses(node: LabNodeState): Promise<void> {
  const found = processesMentioning(`${node.dir}/`);
  const containers = shimContainerIds(found);
  // Also whatever sits in the containers' cgroups (a process that left its parent's tree).
  const pids = [...new Set([...found, ...containers.flatMap(cgroupProcesses)])];
  signal(pids, 'SIGKILL');
  await waitUntilGone(() => pids, 10_000);
  removeContainerCgroups(containers);
}

/** Stops everything a lab made; safe to run twice and on a half-made lab. */
export async function teardown(state: LabState, graceMs = 8_000): Promise<void> {
  const dockerds = state.nodes.flatMap(dockerdPids);
  signal(dockerds, 'SIGTERM');
  await waitUntilGone(() => dockerds, graceMs);
  for (const node of state.nodes) await killNodeProcesses(node);
  await unmountAllUnder(state.dir);
  await deleteNetwork(state.bridge, state.nodes);
  const stillMounted = mountsUnder(state.dir);
  if (stillMounted.length > 0) {
    throw new Error(`swarm-lab: cannot remove ${state.dir}, still mounted: ${stillMounted.join(', ')}`);
  }
  await rm(state.dir, { recursive: true, force: true });
}

/** What is left of a lab on the host; empty after a clean teardown. */
export async function leftoversOf(state: LabState): Promise<string[]> {
  const found: string[] = [];
  for (const node of state.nodes) {
    for (const pid of processesMentioning(`${node.dir}/`)) found.push(`process ${pid} of ${node.name}`);
    if (await netnsExists(node.netns)) found.push(`network namespace ${node.netns}`);
    if (await linkExists(node.hostVeth)) found.push(`veth ${node.hostVeth}`);
  }
  if (await linkExists(state.bridge)) found.push(`bridge ${state.bridge}`);
  if (await forwardRulePresent(state.bridge)) found.push(`iptables FORWARD rule for ${state.bridge}`);
  for (const m of mountsUnder(state.dir)) found.push(`mount ${m}`);
  if (existsSync(state.dir)) found.push(`directory ${state.dir}`);
  return found;
}

function labDirs(): string[] {
  return readdirSync(tmpdir())
    .filter((name) => name.startsWith(LAB_DIR_PREFIX))
    .map((name) => join(tmpdir(), name));
}

function readState(dir: string): LabState | undefined {
  try {
    return JSON.parse(readFileSync(join(dir, 'lab.json'), 'utf8')) as LabState;
  } catch {
    return undefined;
  }
}

/** Tears down labs whose owning process has died (a crashed or killed test run); returns their ids. */
export async function cleanupStaleLabs(): Promise<string[]> {
  const cleaned: string[] = [];
  for (const dir of labDirs()) {
    const state = readState(dir);
    if (!state || isAlive(state.ownerPid)) continue;
    await teardown(state, 3_000);
    cleaned.push(state.id);
  }
  return cleaned;
}

/** Every lab trace on the host, whoever made it: directories, namespaces and links named swl*. */
export async function allLabTraces(): Promise<string[]> {
  const found = labDirs().map((d) => `directory ${d}`);
  const netns = (await run('ip', ['netns', 'list'])).split('\n').map((l) => l.split(' ')[0] ?? '');
  found.push(
    ...netns.filter((n) => n.startsWith(`${LAB_NAME_PREFIX}-`)).map((n) => `network namespace ${n}`),
  );
  const links = (await run('ip', ['-o', 'link', 'show'])).split('\n').map((l) => l.split(': ')[1] ?? '');
  found.push(...links.filter((l) => l.startsWith(LAB_NAME_PREFIX)).map((l) => `link ${l.split('@')[0]}`));
  return found;
}
