import { ChildProcess, execFileSync, spawn } from 'node:child_process';
import { closeSync, mkdirSync, openSync, rmSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

/**
 * The chaos run's own Postgres cluster, Redis server and backup filesystem, so that its faults touch nothing
 * anyone else uses: restarting them hurts only this run. Each is made at the start and removed at the end.
 */

function succeeds(command: string, args: string[]): boolean {
  try {
    execFileSync(command, args, { stdio: 'ignore', timeout: 10_000 });
    return true;
  } catch {
    return false;
  }
}

async function until(what: string, probe: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!probe()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(200);
  }
}

/**
 * A Debian cluster (`pg_createcluster 15 <name> -p <port>`), so libs/testing's restartPostgres finds it by its
 * port (POSTGRES_PORT) as it finds the shared one, and db:setup reaches it as the postgres OS user.
 */
export class PrivatePostgres {
  readonly cluster: string;
  private created = false;

  constructor(
    readonly port: number,
    runId: string,
    private readonly version = '15',
  ) {
    this.cluster = `chaos_${runId}`;
  }

  ready(): boolean {
    return succeeds('pg_isready', ['-q', '-h', '127.0.0.1', '-p', String(this.port)]);
  }

  async create(): Promise<void> {
    execFileSync(
      'pg_createcluster',
      [
        '-p',
        String(this.port),
        '-o',
        'max_connections=300',
        // A throw-away cluster: durability across a machine crash is not what this run tests.
        '-o',
        'fsync=off',
        '-o',
        'synchronous_commit=off',
        this.version,
        this.cluster,
      ],
      { stdio: 'ignore' },
    );
    this.created = true;
    execFileSync('pg_ctlcluster', [this.version, this.cluster, 'start'], { stdio: 'ignore' });
    await until(`the chaos Postgres cluster on ${this.port}`, () => this.ready(), 60_000);
  }

  drop(): void {
    if (!this.created) return;
    execFileSync('pg_dropcluster', ['--stop', this.version, this.cluster], { stdio: 'ignore' });
    this.created = false;
  }
}

/** `redis-server` on its own port, append-only file in a scratch folder (as the shared one), no RDB snapshots. */
export class PrivateRedis {
  private child?: ChildProcess;
  private exited?: Promise<void>;

  constructor(
    readonly port: number,
    private readonly dir: string,
  ) {}

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  ready(): boolean {
    return succeeds('redis-cli', ['-p', String(this.port), 'ping']);
  }

  async start(): Promise<void> {
    mkdirSync(this.dir, { recursive: true });
    const child = spawn(
      'redis-server',
      [
        '--port',
        String(this.port),
        '--bind',
        '127.0.0.1',
        '--save',
        '',
        '--appendonly',
        'yes',
        '--dir',
        this.dir,
      ],
      { stdio: 'ignore' },
    );
    this.child = child;
    this.exited = new Promise((done) => child.once('exit', () => done()));
    await until(`the chaos Redis on ${this.port}`, () => this.ready(), 30_000);
  }

  /** SIGTERM: Redis writes its append-only file and exits, as on an operator's restart. */
  async stop(): Promise<void> {
    if (!this.child || this.child.exitCode !== null || this.child.signalCode !== null) return;
    this.child.kill('SIGTERM');
    await this.exited;
  }

  async restart(): Promise<void> {
    await this.stop();
    await this.start();
  }
}

/** The worker's BACKUP_DIR on a small tmpfs of its own, which the ENOSPC fault fills. */
export class BackupVolume {
  private mounted = false;
  private readonly filler: string;

  constructor(
    readonly dir: string,
    private readonly sizeMb: number,
  ) {
    this.filler = join(dir, '.chaos-filler');
  }

  mount(): void {
    mkdirSync(this.dir, { recursive: true });
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${this.sizeMb}m,mode=0700`, 'tmpfs', this.dir]);
    this.mounted = true;
  }

  /** Writes until the filesystem answers ENOSPC; returns the bytes written. */
  fill(): number {
    const fd = openSync(this.filler, 'w');
    const chunk = Buffer.alloc(1024 * 1024, 0x5a);
    let written = 0;
    try {
      for (;;) written += writeSync(fd, chunk);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOSPC') throw error;
    } finally {
      closeSync(fd);
    }
    return written;
  }

  free(): void {
    rmSync(this.filler, { force: true });
  }

  unmount(): void {
    if (!this.mounted) return;
    execFileSync('umount', ['-l', this.dir]);
    this.mounted = false;
    rmSync(this.dir, { recursive: true, force: true });
  }
}
