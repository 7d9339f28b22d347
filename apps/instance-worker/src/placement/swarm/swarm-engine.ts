import type Docker from 'dockerode';
import { setTimeout as sleep } from 'node:timers/promises';
import { demuxDockerStream } from '../docker/docker-runtime';

/** What the engine says about a service (the fields the backend reads). */
export interface ServiceInfo {
  ID: string;
  Version: { Index: number };
  Spec: Docker.ServiceSpec & {
    TaskTemplate: Docker.ContainerTaskSpec & { ForceUpdate?: number };
    Labels?: Record<string, string>;
  };
  UpdateStatus?: { State?: string };
}

export interface TaskInfo {
  ID: string;
  NodeID?: string;
  DesiredState: string;
  CreatedAt: string;
  Status: {
    State: string;
    Message?: string;
    Err?: string;
    ContainerStatus?: { ContainerID?: string; ExitCode?: number };
  };
  Spec?: { Resources?: { Reservations?: { NanoCPUs?: number; MemoryBytes?: number } } };
}

export interface NodeInfo {
  ID: string;
  Spec: { Role?: string; Availability?: string; Labels?: Record<string, string> };
  Description?: { Hostname?: string; Resources?: { NanoCPUs?: number; MemoryBytes?: number } };
  Status?: { State?: string };
}

export function statusCode(error: unknown): number | undefined {
  if (typeof error === 'object' && error !== null && 'statusCode' in error) {
    const { statusCode: code } = error;
    return typeof code === 'number' ? code : undefined;
  }
  return undefined;
}

export function messageOf(error: unknown): string {
  if (typeof error === 'object' && error !== null && 'json' in error) {
    const { json } = error;
    if (typeof json === 'object' && json !== null && 'message' in json && typeof json.message === 'string') {
      return json.message;
    }
  }
  return error instanceof Error ? error.message : String(error);
}

async function readAll(payload: unknown): Promise<Buffer> {
  if (Buffer.isBuffer(payload)) return payload;
  if (typeof payload === 'string') return Buffer.from(payload);
  if (payload && typeof payload === 'object' && Symbol.asyncIterator in payload) {
    const chunks: Buffer[] = [];
    for await (const chunk of payload as AsyncIterable<Buffer | string>) {
      chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : chunk);
    }
    return Buffer.concat(chunks);
  }
  return Buffer.from(JSON.stringify(payload ?? ''));
}

/**
 * The swarm calls the backend needs, typed: services, tasks, nodes, and updates that read the current
 * version and retry when another writer got in between ("update out of sequence").
 */
export class SwarmEngine {
  constructor(readonly docker: Docker) {}

  async inspectService(idOrName: string): Promise<ServiceInfo | null> {
    try {
      const info = (await this.docker.getService(idOrName).inspect()) as ServiceInfo;
      // The engine also resolves ID prefixes; a name must match exactly.
      return info.ID === idOrName || info.Spec.Name === idOrName ? info : null;
    } catch (error) {
      if (statusCode(error) === 404) return null;
      throw error;
    }
  }

  async listServices(labels: string[]): Promise<ServiceInfo[]> {
    return (await this.docker.listServices({ filters: { label: labels } })) as ServiceInfo[];
  }

  async tasks(serviceId: string): Promise<TaskInfo[]> {
    const tasks = (await this.docker.listTasks({ filters: { service: [serviceId] } })) as TaskInfo[];
    return tasks.sort((a, b) => Date.parse(b.CreatedAt) - Date.parse(a.CreatedAt));
  }

  async runningTasks(): Promise<TaskInfo[]> {
    return (await this.docker.listTasks({ filters: { 'desired-state': ['running'] } })) as TaskInfo[];
  }

  async nodes(): Promise<NodeInfo[]> {
    return (await this.docker.listNodes()) as NodeInfo[];
  }

  /** Reads the service, applies `change` to its spec and writes it at that version; retried on conflicts. */
  async updateService(id: string, change: (spec: ServiceInfo['Spec']) => boolean | void): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      const info = await this.inspectService(id);
      if (!info) throw Object.assign(new Error(`service ${id} not found`), { statusCode: 404 });
      const spec = structuredClone(info.Spec);
      if (change(spec) === false) return;
      try {
        await this.docker.getService(info.ID).update({ version: info.Version.Index, ...spec });
        return;
      } catch (error) {
        if (attempt < 8 && /out of sequence/i.test(messageOf(error))) {
          await sleep(50 * (attempt + 1));
          continue;
        }
        throw error;
      }
    }
  }

  /**
   * Removes the service, then its task containers on this engine (swarm leaves finished tasks' containers
   * behind for a while, and they hold the volumes they mounted). Other nodes' engines clean up their own.
   */
  async removeService(id: string, waitMs = 30_000): Promise<boolean> {
    try {
      await this.docker.getService(id).remove();
    } catch (error) {
      if (statusCode(error) === 404) return false;
      throw error;
    }
    const deadline = Date.now() + waitMs;
    while (Date.now() < deadline) {
      const left = await this.docker.listContainers({
        all: true,
        filters: { label: [`com.docker.swarm.service.id=${id}`] },
      });
      if (left.length === 0) break;
      for (const container of left) {
        await this.docker
          .getContainer(container.Id)
          .remove({ force: true })
          .catch((error: unknown) => {
            // Gone meanwhile, or its removal already under way.
            if (statusCode(error) !== 404 && statusCode(error) !== 409) throw error;
          });
      }
      await sleep(100);
    }
    return true;
  }

  /** The service's last `lines` lines (all when omitted), stdout and stderr interleaved. */
  async serviceLogs(id: string, lines?: number): Promise<string> {
    const payload: unknown = await this.docker.getService(id).logs({
      stdout: true,
      stderr: true,
      follow: false,
      ...(lines !== undefined ? { tail: lines } : {}),
    });
    return demuxDockerStream(await readAll(payload)).combined.toString('utf8');
  }
}
