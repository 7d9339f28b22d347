import Docker from 'dockerode';
import { spawn } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { isAlive } from './host';
import type { LabNodeState } from './lab-state';

/**
 * Starts the node's dockerd inside its network namespace (nsenter --net: `ip netns exec` would remount
 * /sys and hide the cgroups) and its own UTS namespace, so that `docker node ls` shows the node's name.
 * Own data-root, exec-root, socket, pid file and an empty daemon.json (the host's must not apply).
 * --bridge none and --iptables=false: the node has no docker0, and dockerd leaves iptables to the lab.
 * Returns the dockerd pid once the API answers.
 */
export async function startDaemon(node: LabNodeState, timeoutMs = 60_000): Promise<number> {
  await mkdir(join(node.dir, 'data'), { recursive: true });
  await mkdir(join(node.dir, 'exec'), { recursive: true });
  const config = join(node.dir, 'daemon.json');
  await writeFile(config, '{}\n');
  const dockerd = [
    'dockerd',
    `--config-file=${config}`,
    `--data-root=${join(node.dir, 'data')}`,
    `--exec-root=${join(node.dir, 'exec')}`,
    `--host=unix://${node.socketPath}`,
    `--pidfile=${join(node.dir, 'docker.pid')}`,
    '--bridge=none',
    '--iptables=false',
    '--shutdown-timeout=2',
  ];
  const logPath = join(node.dir, 'dockerd.log');
  const log = openSync(logPath, 'a');
  const child = spawn(
    'nsenter',
    [
      `--net=/var/run/netns/${node.netns}`,
      'unshare',
      '--uts',
      'sh',
      '-c',
      'hostname "$0" && exec "$@"',
      node.name,
      ...dockerd,
    ],
    { detached: true, stdio: ['ignore', log, log] },
  );
  closeSync(log);
  child.unref();
  const pid = child.pid;
  if (pid === undefined) throw new Error(`swarm-lab: could not start dockerd for ${node.name}`);
  const docker = new Docker({ socketPath: node.socketPath });
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (!isAlive(pid)) {
      const tail = readFileSync(logPath, 'utf8').trim().split('\n').slice(-5).join('\n');
      throw new Error(`swarm-lab: dockerd of ${node.name} exited:\n${tail}`);
    }
    if (
      await docker.ping().then(
        () => true,
        () => false,
      )
    )
      break;
    if (Date.now() > deadline)
      throw new Error(`swarm-lab: dockerd of ${node.name} did not answer (log: ${logPath})`);
    await sleep(200);
  }
  return pid;
}
