import { setTimeout as sleep } from 'node:timers/promises';
import { HostModeApp, restartPostgres, stopDockerd, waitFor } from '@app/testing';
import { ChaosClient } from './client';
import { BackupVolume, PrivateRedis } from './private-deps';

/** One line of the table: what was done or checked, when, how long the platform took to recover, the verdict. */
export interface ChaosRow {
  name: string;
  at: number | null;
  recovery: number | null;
  checked: string;
  pass: boolean;
}

export type FaultName =
  | 'restart Postgres'
  | 'restart Redis'
  | 'restart dockerd'
  | `SIGKILL ${HostModeApp}`
  | 'backup volume ENOSPC';

/**
 * Injects faults one at a time (a lock: the next waits until the previous one has recovered), and measures
 * each recovery: the time from the fault until every /health/ready answers 200 and `progress` (a real API
 * call and a Kill Bill push accepted) succeeds.
 */
export class FaultInjector {
  readonly rows: ChaosRow[] = [];
  private lock: Promise<void> = Promise.resolve();

  constructor(
    private readonly client: ChaosClient,
    private readonly redis: PrivateRedis,
    private readonly volume: BackupVolume,
    private readonly progress: () => Promise<boolean>,
    private readonly recoveryTimeoutMs: number,
  ) {}

  /** Runs `fault` once every fault before it has recovered; resolves with its row. */
  inject(fault: FaultName, during?: () => Promise<string>): Promise<ChaosRow> {
    const run = this.lock.then(() => this.run(fault, during));
    this.lock = run.then(
      () => undefined,
      () => undefined,
    );
    return run;
  }

  private async run(fault: FaultName, during?: () => Promise<string>): Promise<ChaosRow> {
    const at = this.client.elapsed();
    const started = Date.now();
    let checked: string;
    let pass = true;
    try {
      checked = await this.apply(fault, during);
    } catch (error) {
      pass = false;
      checked = `fault failed: ${error instanceof Error ? error.message : String(error)}`;
    }
    let recovery: number | null = null;
    try {
      await waitFor(
        'every service ready and the workload progressing',
        async () => (await this.client.allReady()) && (await this.progress()),
        this.recoveryTimeoutMs,
        250,
      );
      recovery = (Date.now() - started) / 1000;
      checked += '; every /health/ready 200, API call and Kill Bill push accepted';
    } catch (error) {
      pass = false;
      checked += `; NOT recovered: ${error instanceof Error ? error.message : String(error)}`;
    }
    const row = { name: fault, at, recovery, checked, pass };
    this.rows.push(row);
    process.stdout.write(
      `chaos: ${fault} at ${at.toFixed(1)} s → ${pass ? 'recovered' : 'FAILED'} in ${recovery?.toFixed(1) ?? '—'} s (${checked})\n`,
    );
    return row;
  }

  private async apply(fault: FaultName, during?: () => Promise<string>): Promise<string> {
    if (fault === 'restart Postgres') {
      await restartPostgres();
      return 'private cluster restarted (fast: every session ended)';
    }
    if (fault === 'restart Redis') {
      await this.redis.restart();
      return 'private redis-server stopped (SIGTERM) and started';
    }
    if (fault === 'restart dockerd') {
      const engine = await stopDockerd();
      await engine.start();
      return 'dockerd stopped (SIGTERM, containers stop with it) and started';
    }
    if (fault === 'backup volume ENOSPC') {
      const filled = this.volume.fill();
      try {
        const seen = during ? await during() : 'nothing waited for';
        return `backup tmpfs filled (${Math.round(filled / 1048576)} MiB) to ENOSPC; ${seen}; freed`;
      } finally {
        this.volume.free();
      }
    }
    const app = fault.replace('SIGKILL ', '') as HostModeApp;
    const platform = this.client.platform;
    const pid = platform.pid(app);
    process.kill(pid, 'SIGKILL');
    await platform.waitForOutput(new RegExp(`${app} restarted \\(pid (?!${pid}\\))\\d+\\)`), 60_000);
    return `pid ${pid} killed; start:local restarted it as pid ${platform.pid(app)}`;
  }
}

/** A random pause in [min, max) ms. */
export function jitter(minMs: number, maxMs: number): Promise<void> {
  return sleep(minMs + Math.random() * (maxMs - minMs));
}
