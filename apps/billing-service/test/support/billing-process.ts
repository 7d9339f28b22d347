/**
 * billing-service as the built app (dist/, built by scripts/test.sh or `npm run build`) in a process of its own,
 * as it runs in production: for the crash spec (SIGKILL) and for bench:payments (its event loop shared with
 * nothing of the test world's).
 */
import { ChildProcess, spawn } from 'node:child_process';
import { resolve } from 'node:path';
import { PAYNOW_RESULT_PATH } from '../../src/config/env';
import { freePort, waitFor } from './billing-harness';

const BILLING_MAIN = resolve(__dirname, '../../../../dist/apps/billing-service/main.js');

export interface BillingProcess {
  child: ChildProcess;
  url: string;
  output: () => string;
}

export async function spawnBilling(env: Record<string, string>): Promise<BillingProcess> {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  // BENCH_BILLING_NODE_ARGS: e.g. `--cpu-prof --cpu-prof-dir=/tmp/prof` to profile billing during a bench.
  const nodeArgs = (process.env.BENCH_BILLING_NODE_ARGS ?? '').split(' ').filter(Boolean);
  // BENCH_BILLING_MAIN: another build of the same app (a bench comparing two builds, run after run).
  const main = process.env.BENCH_BILLING_MAIN ?? BILLING_MAIN;
  const child = spawn(process.execPath, [...nodeArgs, main], {
    env: {
      ...process.env,
      ...env,
      PORT: String(port),
      HOST: '127.0.0.1',
      PAYNOW_RESULT_URL: `${url}${PAYNOW_RESULT_PATH}`,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  await waitFor(
    async () => {
      if (child.exitCode !== null) throw new Error(`billing exited ${child.exitCode}: ${output}`);
      const res = await fetch(`${url}/health/ready`).catch(() => null);
      return res?.ok;
    },
    'billing-service process ready',
    30_000,
  );
  return { child, url, output: () => output };
}

export async function killBilling(billing: BillingProcess | undefined, signal: NodeJS.Signals = 'SIGKILL') {
  if (!billing || billing.child.exitCode !== null || billing.child.signalCode !== null) return;
  billing.child.kill(signal);
  await waitFor(() => billing.child.exitCode !== null || billing.child.signalCode !== null, 'billing dead');
}
