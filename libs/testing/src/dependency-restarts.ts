import { execFileSync, spawn } from 'node:child_process';
import { openSync, readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { processAlive } from './host-platform';

/**
 * Stops and starts the real Postgres, Redis and Docker engine the tests use (the local ones that
 * scripts/bootstrap-deps.sh installs and starts), for fault-injection tests. Each refuses to touch a server
 * that is not on this machine.
 */

function isLocal(host: string): boolean {
  return ['127.0.0.1', 'localhost', '::1'].includes(host);
}

async function until(what: string, probe: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!probe()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(200);
  }
}

function succeeds(command: string, args: string[]): boolean {
  try {
    execFileSync(command, args, { stdio: 'ignore', timeout: 10_000 });
    return true;
  } catch {
    return false;
  }
}

// ---- Postgres --------------------------------------------------------------------------------------------

function postgresCluster(): [string, string] {
  const host = process.env.POSTGRES_HOST ?? '127.0.0.1';
  const port = process.env.POSTGRES_PORT ?? '5432';
  if (!isLocal(host))
    throw new Error(`Postgres at ${host} is not local; the restart tests need a local cluster`);
  const line = execFileSync('pg_lsclusters', ['-h'], { encoding: 'utf8' })
    .split('\n')
    .map((l) => l.trim().split(/\s+/))
    .find((fields) => fields[2] === port);
  if (!line?.[0] || !line[1]) throw new Error(`no local Postgres cluster on port ${port}`);
  return [line[0], line[1]];
}

function postgresReady(): boolean {
  return succeeds('pg_isready', [
    '-q',
    '-h',
    process.env.POSTGRES_HOST ?? '127.0.0.1',
    '-p',
    process.env.POSTGRES_PORT ?? '5432',
  ]);
}

export async function stopPostgres(): Promise<void> {
  execFileSync('pg_ctlcluster', [...postgresCluster(), 'stop', '-m', 'fast'], { stdio: 'ignore' });
  await until('Postgres to stop', () => !postgresReady(), 30_000);
}

export async function startPostgres(): Promise<void> {
  execFileSync('pg_ctlcluster', [...postgresCluster(), 'start'], { stdio: 'ignore' });
  await until('Postgres to accept connections', postgresReady, 60_000);
}

/** `pg_ctlcluster … restart` (fast mode: every session is ended with 57P01, as an operator's restart does). */
export async function restartPostgres(): Promise<void> {
  execFileSync('pg_ctlcluster', [...postgresCluster(), 'restart', '-m', 'fast'], { stdio: 'ignore' });
  await until('Postgres to accept connections', postgresReady, 60_000);
}

// ---- Redis -----------------------------------------------------------------------------------------------

function redisTarget(): { url: string; port: string } {
  const url = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
  const parsed = new URL(url);
  if (!isLocal(parsed.hostname)) throw new Error(`Redis at ${parsed.hostname} is not local`);
  return { url, port: parsed.port || '6379' };
}

function redisCli(...args: string[]): string {
  return execFileSync('redis-cli', ['-u', redisTarget().url, ...args], {
    encoding: 'utf8',
    timeout: 10_000,
  }).trim();
}

function redisReady(): boolean {
  try {
    return redisCli('ping') === 'PONG';
  } catch {
    return false;
  }
}

export interface StoppedRedis {
  start(): Promise<void>;
}

/**
 * Shuts Redis down (it persists first, as on any clean restart) and returns how to start it again with the
 * same configuration: its config file when it has one, else the settings scripts/bootstrap-deps.sh uses.
 */
export async function stopRedis(): Promise<StoppedRedis> {
  const { port } = redisTarget();
  const info = redisCli('info', 'server');
  const configFile = /^config_file:(.*)$/m.exec(info)?.[1]?.trim() ?? '';
  const setting = (name: string) => redisCli('config', 'get', name).split('\n')[1] ?? '';
  const args = configFile
    ? [configFile, '--daemonize', 'yes']
    : [
        '--daemonize',
        'yes',
        '--port',
        port,
        '--bind',
        '127.0.0.1',
        '--appendonly',
        setting('appendonly') || 'yes',
        '--dir',
        setting('dir'),
        '--appendfilename',
        setting('appendfilename'),
      ];
  try {
    redisCli('shutdown');
  } catch {
    /* the connection closes as the server exits */
  }
  await until('Redis to stop', () => !redisReady(), 30_000);
  return {
    start: async () => {
      execFileSync('redis-server', args, { stdio: 'ignore' });
      await until('Redis to answer', redisReady, 30_000);
    },
  };
}

// ---- Docker engine ---------------------------------------------------------------------------------------

const DOCKER_PIDFILE = '/var/run/docker.pid';

export interface StoppedDockerd {
  start(): Promise<void>;
}

function dockerReady(): boolean {
  return succeeds('docker', ['info']);
}

/**
 * Stops the local dockerd by its pid file (SIGTERM, as an operator's restart does: containers without
 * live-restore stop with it) and returns how to start it again with the same command line.
 */
export async function stopDockerd(): Promise<StoppedDockerd> {
  const host = process.env.DOCKER_HOST;
  if (host && host !== 'unix:///var/run/docker.sock')
    throw new Error(`DOCKER_HOST ${host} is not the local engine`);
  const pid = Number(readFileSync(DOCKER_PIDFILE, 'utf8').trim());
  const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean);
  const [command, ...args] = argv;
  if (!command?.endsWith('dockerd')) throw new Error(`pid ${pid} is not dockerd: ${argv.join(' ')}`);
  process.kill(pid, 'SIGTERM');
  await until('dockerd to exit', () => !processAlive(pid), 60_000);
  return {
    start: async () => {
      const log = openSync('/var/log/saasodoo-dockerd.log', 'a');
      spawn(command, args, { detached: true, stdio: ['ignore', log, log] }).unref();
      await until('the Docker engine to answer', dockerReady, 60_000);
    },
  };
}
