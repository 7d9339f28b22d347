import { ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

export const HOST_MODE_APPS = [
  'user-service',
  'tenant-service',
  'instance-service',
  'billing-service',
  'instance-worker',
] as const;
export type HostModeApp = (typeof HOST_MODE_APPS)[number];

const ROOT = resolve(__dirname, '../../..');

export interface HostPlatformOptions {
  /** Moves every port (LOCAL_PORT_OFFSET): 8001 + offset … 8005 + offset. */
  portOffset: number;
  /** More environment for start-local.sh (and so for every child). */
  env?: Record<string, string>;
  /** Reuse dist/ (the test command builds first). Default true. */
  skipBuild?: boolean;
  /**
   * Start as a newcomer's shell would: only PATH and HOME from this process, nothing of the tests' settings
   * (everything else comes from the .env start:local writes). Default false: the tests' environment.
   */
  cleanEnv?: boolean;
  /** Arguments after `npm run start:local --`, e.g. ['--demo']. */
  args?: string[];
  readyTimeoutMs?: number;
}

/**
 * `npm run start:local` as a test runs it: its own .env and .local/ in a scratch folder (the repository's
 * are never touched), the real processes, the printed output. `stop()` sends SIGTERM (or SIGINT, as Ctrl-C does).
 */
export class HostPlatform {
  readonly scratch = mkdtempSync(join(tmpdir(), 'host-platform-'));
  readonly envFile: string;
  readonly localDir: string;
  private child?: ChildProcess;
  private text = '';
  private exit?: Promise<number | null>;

  constructor(private readonly options: HostPlatformOptions) {
    this.envFile = options.env?.START_LOCAL_ENV_FILE ?? join(this.scratch, '.env');
    this.localDir = options.env?.START_LOCAL_DIR ?? join(this.scratch, 'local');
  }

  url(app: HostModeApp): string {
    return `http://127.0.0.1:${8001 + this.options.portOffset + HOST_MODE_APPS.indexOf(app)}`;
  }

  output(): string {
    return this.text;
  }

  /** The pid start-local printed last for `app` (changes when it restarts one). */
  pid(app: HostModeApp): number {
    const all = [...this.text.matchAll(new RegExp(`${app} (?:started|restarted) \\(pid (\\d+)`, 'g'))];
    const last = all.at(-1)?.[1];
    if (!last) throw new Error(`start:local printed no pid for ${app}`);
    return Number(last);
  }

  /** Every log line the children wrote. */
  logs(): string {
    const dir = join(this.localDir, 'logs');
    return readdirSync(dir)
      .map((file) => readFileSync(join(dir, file), 'utf8'))
      .join('\n');
  }

  async start(): Promise<void> {
    this.text = '';
    const base = this.options.cleanEnv
      ? { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/root' }
      : process.env;
    const child = spawn('bash', ['scripts/start-local.sh', ...(this.options.args ?? [])], {
      cwd: ROOT,
      env: {
        ...base,
        START_LOCAL_SKIP_BUILD: this.options.skipBuild === false ? '0' : '1',
        LOCAL_PORT_OFFSET: String(this.options.portOffset),
        ...this.options.env,
        START_LOCAL_ENV_FILE: this.envFile,
        START_LOCAL_DIR: this.localDir,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.child = child;
    child.stdout?.on('data', (d: Buffer) => (this.text += d.toString()));
    child.stderr?.on('data', (d: Buffer) => (this.text += d.toString()));
    this.exit = new Promise((done) => child.on('exit', (code) => done(code)));
    // The "What next" block ends with how to stop: only then is everything start:local prints there.
    await this.waitForOutput(/^\s*Stop\s+Ctrl-C/m, this.options.readyTimeoutMs ?? 150_000);
  }

  async waitForOutput(pattern: string | RegExp, timeoutMs = 60_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    const seen = () => (typeof pattern === 'string' ? this.text.includes(pattern) : pattern.test(this.text));
    while (!seen()) {
      if (Date.now() > deadline || this.child?.exitCode !== null) {
        throw new Error(`start:local never printed ${String(pattern)}:\n${this.text}`);
      }
      await sleep(250);
    }
  }

  /** A value start:local printed as `<label> <value>` (e.g. 'Mail inbox'), first word only. */
  printed(label: string): string {
    const value = new RegExp(`^\\s*${label}\\s+(\\S+)`, 'm').exec(this.text)?.[1];
    if (!value) throw new Error(`start:local printed no "${label}":\n${this.text}`);
    return value;
  }

  /** SIGTERM by default (SIGINT is Ctrl-C); resolves with start:local's exit code. */
  async stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<number | null> {
    if (!this.child || this.child.exitCode !== null) return this.child?.exitCode ?? null;
    this.child.kill(signal);
    return this.exit ?? null;
  }

  /** Processes still running with this platform's .local/ in their environment (none after a clean stop). */
  leftoverProcesses(): number[] {
    const marker = `START_LOCAL_DIR=${this.localDir}\0`;
    return readdirSync('/proc')
      .filter((entry) => /^\d+$/.test(entry) && Number(entry) !== process.pid)
      .filter((entry) => {
        try {
          return readFileSync(`/proc/${entry}/environ`, 'latin1').includes(marker);
        } catch {
          return false;
        }
      })
      .map(Number);
  }

  async dispose(): Promise<void> {
    await this.stop();
    for (const pid of this.leftoverProcesses()) process.kill(pid, 'SIGKILL');
    rmSync(this.scratch, { recursive: true, force: true });
  }
}

/** True while a process with this pid exists. */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
