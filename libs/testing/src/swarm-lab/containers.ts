import type Docker from 'dockerode';

export interface LabTask {
  id: string;
  nodeId: string;
  state: string;
  desiredState: string;
  /** The scheduler's or the agent's reason, e.g. "no suitable node (insufficient resources on 3 nodes)". */
  error: string;
  containerId?: string;
}

interface RawTask {
  ID: string;
  NodeID?: string;
  DesiredState: string;
  Status: { State: string; Err?: string; ContainerStatus?: { ContainerID?: string } };
}

/** The tasks of a service (by id or name), newest first. */
export async function tasksOf(manager: Docker, service: string): Promise<LabTask[]> {
  const raw = (await manager.listTasks({ filters: { service: [service] } })) as RawTask[];
  return raw
    .map((t) => ({
      id: t.ID,
      nodeId: t.NodeID ?? '',
      state: t.Status.State,
      desiredState: t.DesiredState,
      error: t.Status.Err ?? '',
      containerId: t.Status.ContainerStatus?.ContainerID,
    }))
    .reverse();
}

/**
 * Runs a throwaway container on one node (optionally on an attachable network) to completion and returns
 * its exit code and output (a TTY, so stdout and stderr come as one plain stream).
 */
export async function runOnce(
  docker: Docker,
  image: string,
  command: string[],
  options: { network?: string; env?: string[]; binds?: string[]; timeoutMs?: number } = {},
): Promise<{ exitCode: number; output: string }> {
  const container = await docker.createContainer({
    Image: image,
    Cmd: command,
    Env: options.env,
    Tty: true,
    HostConfig: { NetworkMode: options.network ?? 'none', Binds: options.binds },
  });
  try {
    await container.start();
    const timeout = new Promise<never>((_, reject) =>
      setTimeout(
        () =>
          reject(
            new Error(`container ${command.join(' ')} still running after ${options.timeoutMs ?? 30_000} ms`),
          ),
        options.timeoutMs ?? 30_000,
      ).unref(),
    );
    const { StatusCode } = (await Promise.race([container.wait(), timeout])) as { StatusCode: number };
    const logs = await container.logs({ stdout: true, stderr: true, follow: false });
    return { exitCode: StatusCode, output: logs.toString('utf8') };
  } finally {
    await container.remove({ force: true }).catch(() => undefined);
  }
}
