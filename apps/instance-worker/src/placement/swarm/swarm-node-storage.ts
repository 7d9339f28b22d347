import { Logger } from '@nestjs/common';
import { chooseMigrationTarget } from '@app/queue';
import type { InstanceStorage } from '../instance-spec';
import { PlacementRefusedError, type NodeCapacity } from '../placement-backend';
import type { SwarmJobs } from './swarm-jobs';

/** Where the node's engine socket is mounted in a node job (the tools image's `docker` uses it). */
const SOCKET_TARGET = '/var/run/docker.sock';

function shellQuote(value: string): string {
  return `'${value.replace(/'/g, `'\\''`)}'`;
}

export interface NodeStorageOptions {
  /** An image with a `docker` CLI and `sh` (SWARM_NODE_TOOLS_IMAGE). */
  toolsImage: string;
  /** The engine socket on every node (SWARM_NODE_DOCKER_SOCKET; swarm templates such as {{.Node.Hostname}}). */
  socketPath: string;
}

/**
 * Local volumes on a given node of the swarm: the manager's API cannot touch another node's volumes, so
 * each action is a `ReplicatedJob` constrained to that node. Creating and filling go through a job that
 * mounts the volume; removing needs the node's engine (its task containers hold the volume), so that job
 * mounts the node's socket and runs the tools image's `docker`.
 */
export class SwarmNodeStorage {
  private readonly logger = new Logger(SwarmNodeStorage.name);

  constructor(
    private readonly jobs: SwarmJobs,
    private readonly nodes: () => Promise<NodeCapacity[]>,
    private readonly options: NodeStorageOptions,
  ) {}

  async acceptsJobs(node: string): Promise<boolean> {
    const found = (await this.nodes()).find((n) => n.id === node);
    return found?.state === 'ready' && found.availability === 'active';
  }

  async migrationTarget(storage: InstanceStorage, requested?: string): Promise<string> {
    if (storage.kind !== 'local-volume') {
      throw new PlacementRefusedError('shared storage: the swarm moves the instance by itself');
    }
    const choice = chooseMigrationTarget(
      (await this.nodes()).map((n) => ({
        id: n.id,
        availability: n.availability,
        state: n.state,
        labels: n.labels,
        freeMemoryBytes: n.total.memoryBytes - n.reserved.memoryBytes,
      })),
      storage.node ?? null,
      requested,
    );
    if (!choice.ok) throw new PlacementRefusedError(choice.message);
    return choice.node;
  }

  /**
   * Removes the volume and the containers (finished tasks) that still hold it on `node`. Idempotent: a
   * missing volume is fine. A node that cannot run jobs keeps its volume (false).
   */
  async remove(volume: string, node: string): Promise<boolean> {
    if (!(await this.acceptsJobs(node))) {
      this.logger.warn(`volume ${volume} on node ${node} not removed: the node is down or drained`);
      return false;
    }
    const name = shellQuote(volume);
    const script = [
      'i=0',
      `while docker volume inspect ${name} >/dev/null 2>&1; do`,
      `  ids=$(docker ps -aq --filter volume=${name})`,
      '  [ -z "$ids" ] || docker rm -f $ids >/dev/null',
      `  docker volume rm ${name} >/dev/null && break`,
      '  i=$((i+1)); [ $i -lt 30 ] || exit 1; sleep 1',
      'done',
      'echo removed',
    ].join('\n');
    const result = await this.jobs.run(
      {
        name: `rmvol_${volume}`.slice(0, 63),
        image: this.options.toolsImage,
        cmd: [],
        user: '0',
        timeoutMs: 120_000,
        storage: { kind: 'shared-path', hostPath: this.options.socketPath, mountPath: SOCKET_TARGET },
      },
      [`node.id==${node}`],
      ['sh', '-c', script],
    );
    if (result.exitCode !== 0) {
      throw new Error(
        `removing volume ${volume} on node ${node} failed (exit ${result.exitCode}): ${result.output.slice(-500)}`,
      );
    }
    return true;
  }

  /** An empty volume of that name on `node`, with `labels` (a leftover there is removed first). */
  async prepare(
    storage: InstanceStorage,
    node: string,
    labels: Record<string, string>,
    image: string,
  ): Promise<void> {
    if (storage.kind !== 'local-volume')
      throw new PlacementRefusedError('only a local volume lives on a node');
    if (!(await this.acceptsJobs(node))) throw new PlacementRefusedError(`node ${node} cannot run jobs now`);
    await this.remove(storage.volume, node);
    const result = await this.jobs.run(
      {
        name: `mkvol_${storage.volume}`.slice(0, 63),
        image,
        cmd: [],
        timeoutMs: 120_000,
        storage: { ...storage, node },
        volumeLabels: labels,
      },
      [`node.id==${node}`],
      ['sh', '-c', `test -d ${shellQuote(storage.mountPath)}`],
    );
    if (result.exitCode !== 0) {
      throw new Error(
        `creating volume ${storage.volume} on node ${node} failed: ${result.output.slice(-500)}`,
      );
    }
  }
}
