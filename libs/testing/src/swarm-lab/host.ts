import { execFile } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';

/** Runs a host command; rejects with its stderr (the tool's own words) when it exits non-zero. */
export function run(command: string, args: string[], timeoutMs = 120_000): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(command, args, { timeout: timeoutMs, maxBuffer: 16 * 1024 * 1024 }, (error, stdout, stderr) => {
      if (error) {
        const words = String(stderr).trim() || error.message;
        reject(new Error(`${command} ${args.join(' ')}: ${words}`));
      } else resolve(String(stdout));
    });
  });
}

/** Like run, but a failure is an answer (false), not an error: for idempotent teardown and probes. */
export async function succeeds(command: string, args: string[], timeoutMs = 30_000): Promise<boolean> {
  try {
    await run(command, args, timeoutMs);
    return true;
  } catch {
    return false;
  }
}

export async function commandExists(command: string): Promise<boolean> {
  return succeeds('sh', ['-c', `command -v ${command}`]);
}

interface ProcEntry {
  pid: number;
  ppid: number;
  cmdline: string;
}

function processTable(): ProcEntry[] {
  const entries: ProcEntry[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      // "pid (comm) state ppid ...": comm may hold spaces and parentheses, so read after the last ')'.
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      const cmdline = readFileSync(`/proc/${name}/cmdline`, 'utf8').replace(/\0/g, ' ');
      entries.push({ pid: Number(name), ppid, cmdline });
    } catch {
      /* the process ended while we looked */
    }
  }
  return entries;
}

/**
 * The processes whose command line mentions `text` (a lab node's directory: its dockerd, the containerd
 * that dockerd started, the shims), and every descendant of those (the containers' processes).
 */
export function processesMentioning(text: string): number[] {
  const table = processTable();
  const found = new Set(
    table.filter((p) => p.cmdline.includes(text) && p.pid !== process.pid).map((p) => p.pid),
  );
  for (let grew = true; grew;) {
    grew = false;
    for (const p of table) {
      if (found.has(p.ppid) && !found.has(p.pid)) {
        found.add(p.pid);
        grew = true;
      }
    }
  }
  return [...found];
}

/** Container ids of the containerd shims among `pids` (to remove the cgroups of killed containers). */
export function shimContainerIds(pids: number[]): string[] {
  const wanted = new Set(pids);
  return processTable()
    .filter((p) => wanted.has(p.pid) && p.cmdline.includes('containerd-shim'))
    .map((p) => /-id ([0-9a-f]{64})/.exec(p.cmdline)?.[1])
    .filter((id): id is string => id !== undefined);
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export function signal(pids: number[], sig: NodeJS.Signals): void {
  for (const pid of pids) {
    try {
      process.kill(pid, sig);
    } catch {
      /* already gone */
    }
  }
}

/** Mount points at or below `dir`, deepest first (mountinfo escapes spaces and such as \ooo). */
export function mountsUnder(dir: string): string[] {
  const prefix = dir.endsWith('/') ? dir : `${dir}/`;
  return readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .map((line) => line.split(' ')[4])
    .filter((m): m is string => m !== undefined)
    .map((m) => m.replace(/\\([0-7]{3})/g, (_, octal: string) => String.fromCharCode(parseInt(octal, 8))))
    .filter((m) => m === dir || m.startsWith(prefix))
    .sort((a, b) => b.length - a.length);
}

/** Detaches every mount below `dir` (overlay rootfs, netns bind mounts of a killed dockerd). */
export async function unmountAllUnder(dir: string): Promise<void> {
  for (let round = 0; round < 5; round++) {
    const mounts = mountsUnder(dir);
    if (mounts.length === 0) return;
    for (const m of mounts) await succeeds('umount', ['-l', m]);
  }
}
