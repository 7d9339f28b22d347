import { spawn } from 'node:child_process';
import { resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { startService } from '@app/testing';
import { AppModule } from '../src/app.module';
import { LifecycleWorker } from '../src/lifecycle/lifecycle-worker';
import { LifecycleTestKit } from './support/worker-harness';

const REPO = resolve(__dirname, '../../..');
const BOOT_SCRIPT = resolve(__dirname, 'support/boot-with-handlers.ts');

describe('worker boot', () => {
  const kit = new LifecycleTestKit();

  beforeAll(() => kit.openData());
  afterAll(() => kit.cleanup());

  function bootWith(mode: 'missing' | 'duplicate'): Promise<{ code: number | null; stderr: string }> {
    const child = spawn(
      process.execPath,
      ['-r', 'ts-node/register/transpile-only', '-r', 'tsconfig-paths/register', BOOT_SCRIPT, mode],
      {
        cwd: REPO,
        env: { ...process.env, ...kit.env, TS_NODE_PROJECT: 'tsconfig.json' },
        stdio: ['ignore', 'ignore', 'pipe'],
      },
    );
    let stderr = '';
    child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    return new Promise((resolvePromise) => child.on('close', (code) => resolvePromise({ code, stderr })));
  }

  it('fails when a job has no handler', async () => {
    const result = await bootWith('missing');
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/HandlerRegistryError: .*job "restore" has no handler/s);
  }, 60_000);

  it('fails when a job has two handlers', async () => {
    const result = await bootWith('duplicate');
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/job "stop" has two handlers/);
  }, 60_000);

  it('runs but does not consume until its dependencies answered (Docker down)', async () => {
    const harness = await startService(AppModule, 'instance-worker', {
      ...kit.env,
      DOCKER_HOST: 'unix:///nonexistent/docker.sock',
    });
    try {
      const worker = harness.app.get(LifecycleWorker);
      const created = await kit.create();
      await sleep(1500);
      expect(worker.consuming).toBe(false);
      expect(await kit.queue.getJobState(`${created.id}:provision:1`)).toBe('waiting');
      const ready = await harness.request({ method: 'GET', url: '/health/ready' });
      expect(ready.statusCode).toBe(503);
      const metrics = await harness.request({ method: 'GET', url: '/metrics' });
      expect(metrics.body).not.toMatch(/lifecycle_worker_consuming\{[^}]*\} 1/);
    } finally {
      await harness.close();
    }
  });
});
