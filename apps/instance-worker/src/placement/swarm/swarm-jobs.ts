import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { Readable } from 'node:stream';
import type { JobSpec } from '../instance-spec';
import type { JobResult } from '../placement-backend';
import { OneShotTimeoutError } from '../docker/docker-runtime';
import { jobServiceSpec } from './swarm-service-spec';
import { messageOf, statusCode, type SwarmEngine, type TaskInfo } from './swarm-engine';

const DONE_STATES = new Set(['complete', 'failed', 'rejected', 'shutdown', 'orphaned']);
/** Lines between these carry a base64 tar in a job's output (the only way back from a remote node). */
const BEGIN = '--saasodoo-archive-begin--';
const END = '--saasodoo-archive-end--';
/** Environment strings stay under the kernel's 128 KiB per-string limit. */
const ENV_CHUNK = 100_000;
const CHUNKS_PER_JOB = 10;

function shellQuote(value: string): string {
  return `'${value.replace(/'/g, `'\\''`)}'`;
}

function splitPath(path: string): { parent: string; base: string } {
  const trimmed = path.replace(/\/+$/, '');
  const index = trimmed.lastIndexOf('/');
  return { parent: index <= 0 ? '/' : trimmed.slice(0, index), base: trimmed.slice(index + 1) };
}

/** The base64 archive a job printed between the markers; null when it printed none. */
export function archiveFromOutput(output: string): { archive: Buffer | null; rest: string } {
  const lines = output.split('\n');
  const begin = lines.indexOf(BEGIN);
  const end = lines.indexOf(END, begin + 1);
  if (begin < 0 || end < 0) return { archive: null, rest: output };
  const archive = Buffer.from(lines.slice(begin + 1, end).join(''), 'base64');
  return { archive, rest: [...lines.slice(0, begin), ...lines.slice(end + 1)].join('\n') };
}

/**
 * One-off work as swarm jobs (`ReplicatedJob`, restart `none`), placed by constraints on the node that holds
 * the data: the worker never assumes its own engine is that node. Output comes back through the service
 * logs, files as a base64 tar between markers; files go in through environment chunks appended in the
 * instance's storage, then unpacked.
 */
export class SwarmJobs {
  constructor(private readonly engine: SwarmEngine) {}

  async run(spec: JobSpec, constraints: string[], command: string[] | null = null): Promise<JobResult> {
    await this.remove(spec.name);
    const service = await this.engine.docker.createService(jobServiceSpec(spec, command, constraints));
    const id = service.id;
    try {
      const task = await this.waitDone(id, spec.timeoutMs);
      const output = await this.engine.serviceLogs(id);
      if (!task) throw new OneShotTimeoutError(spec.timeoutMs ?? 0, output);
      const exitCode = task.Status.ContainerStatus?.ExitCode ?? (task.Status.State === 'complete' ? 0 : 125);
      if (exitCode !== 0 && task.Status.Err && !output) {
        return { exitCode, output: task.Status.Err, collected: null };
      }
      const { archive, rest } = archiveFromOutput(output);
      return { exitCode, output: rest, collected: archive };
    } finally {
      await this.engine.removeService(id);
    }
  }

  /**
   * Runs `spec.cmd` through the image's entrypoint, then, on a clean exit, prints a tar of `collectPath`.
   * `entrypoint` is the image's (read by the caller), so `odoo …` runs as the image intends.
   */
  async runCollecting(spec: JobSpec & { collectPath: string }, entrypoint: string[], constraints: string[]) {
    const { parent, base } = splitPath(spec.collectPath);
    const script =
      `"$@" || exit $?; [ -e ${shellQuote(spec.collectPath)} ] || exit 0; echo ${BEGIN}; ` +
      `tar -c -C ${shellQuote(parent)} ${shellQuote(base)} | base64; echo ${END}`;
    return this.run(spec, constraints, ['sh', '-c', script, 'job', ...entrypoint, ...spec.cmd]);
  }

  /** A tar of `path` in the storage the job mounts. */
  async copyOut(spec: Omit<JobSpec, 'cmd'>, path: string, constraints: string[]): Promise<Buffer> {
    const { parent, base } = splitPath(path);
    const script = `echo ${BEGIN}; tar -c -C ${shellQuote(parent)} ${shellQuote(base)} | base64; echo ${END}`;
    const result = await this.run({ ...spec, cmd: [] }, constraints, ['sh', '-c', script]);
    if (result.exitCode !== 0 || !result.collected) {
      throw new Error(`copy out of ${path} failed (exit ${result.exitCode}): ${result.output.slice(-500)}`);
    }
    return result.collected;
  }

  /** Extracts `tar` into `path` of the storage the job mounts, in jobs of at most ~1 MB each. */
  async copyIn(spec: Omit<JobSpec, 'cmd'>, path: string, tar: Buffer, constraints: string[]): Promise<void> {
    const encoded = tar.toString('base64');
    // Staged inside the mounted storage: each chunk is its own job (container), so a file anywhere else in
    // the container (e.g. in `path` when it is the mount's parent) would be gone by the next one.
    const stagingDir = (spec.storage?.mountPath ?? path).replace(/\/+$/, '');
    const staging = `${stagingDir}/.saasodoo-restore-${randomBytes(4).toString('hex')}.b64`;
    const chunks: string[] = [];
    for (let offset = 0; offset < encoded.length; offset += ENV_CHUNK) {
      chunks.push(encoded.slice(offset, offset + ENV_CHUNK));
    }
    const append =
      'i=0; while :; do eval "v=\\${D$i-}"; [ -n "$v" ] || break; printf %s "$v" >> "$STAGING"; i=$((i+1)); done';
    for (let first = 0; first < chunks.length; first += CHUNKS_PER_JOB) {
      const env: Record<string, string> = { ...(spec.env ?? {}), STAGING: staging };
      chunks.slice(first, first + CHUNKS_PER_JOB).forEach((chunk, i) => (env[`D${i}`] = chunk));
      const result = await this.run({ ...spec, cmd: [], env }, constraints, ['sh', '-c', append]);
      if (result.exitCode !== 0) throw new Error(`copy in (staging) failed: ${result.output.slice(-500)}`);
    }
    const extract = `base64 -d "$STAGING" | tar -x -C ${shellQuote(path)}; s=$?; rm -f "$STAGING"; exit $s`;
    const result = await this.run(
      { ...spec, cmd: [], env: { ...(spec.env ?? {}), STAGING: staging } },
      constraints,
      ['sh', '-c', chunks.length ? extract : 'exit 0'],
    );
    if (result.exitCode !== 0) throw new Error(`copy in (extract) failed: ${result.output.slice(-500)}`);
  }

  async remove(name: string): Promise<void> {
    const existing = await this.engine.inspectService(name);
    if (existing) await this.engine.removeService(existing.ID);
  }

  /** The finished task, or null after `timeoutMs`. */
  private async waitDone(id: string, timeoutMs: number | undefined): Promise<TaskInfo | null> {
    const deadline = timeoutMs === undefined ? Infinity : Date.now() + timeoutMs;
    let delay = 100;
    while (Date.now() < deadline) {
      let tasks: TaskInfo[] = [];
      try {
        tasks = await this.engine.tasks(id);
      } catch (error) {
        if (statusCode(error) !== 404) throw new Error(`job ${id}: ${messageOf(error)}`, { cause: error });
      }
      const done = tasks.find((task) => DONE_STATES.has(task.Status.State));
      if (done) return done;
      await sleep(delay);
      delay = Math.min(delay * 2, 500);
    }
    return null;
  }
}

export function bufferStream(buffer: Buffer): NodeJS.ReadableStream {
  return Readable.from([buffer]);
}
