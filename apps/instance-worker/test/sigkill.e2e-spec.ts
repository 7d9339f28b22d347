import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { InstanceBackupsRepository } from '@app/instance-data';
import { docker, LifecycleTestKit, waitFor } from './support/worker-harness';
import { freePort } from '@app/testing';

/*
 * The worker as a real process (dist/apps/instance-worker/main.js: `npm run build` first, as CI does),
 * SIGKILLed at several points of a provisioning and restarted. Whatever the point, the instance must end
 * running with exactly one container, one volume, one database and one role, and no one-shot leftovers.
 */

const MAIN = resolve(__dirname, '../../../dist/apps/instance-worker/main.js');

interface WorkerProcess {
  child: ChildProcess;
  output: () => string;
}

describe('worker killed with SIGKILL during provisioning', () => {
  const kit = new LifecycleTestKit({ LOG_LEVEL: 'warn' });
  const processes: ChildProcess[] = [];

  async function startProcess(): Promise<WorkerProcess> {
    const port = await freePort();
    const child = spawn(process.execPath, [MAIN], {
      env: { ...process.env, ...kit.env, PORT: String(port), NODE_ENV: 'test' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    processes.push(child);
    let output = '';
    child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
    await waitFor(
      'the worker process to consume',
      async () => {
        if (child.exitCode !== null) throw new Error(`worker exited ${child.exitCode}: ${output}`);
        const res = await fetch(`http://127.0.0.1:${port}/metrics`).catch(() => null);
        return res?.ok && /lifecycle_worker_consuming\{[^}]*\} 1/.test(await res.text());
      },
      30_000,
      100,
    );
    return { child, output: () => output };
  }

  async function kill(worker: WorkerProcess): Promise<void> {
    worker.child.kill('SIGKILL');
    await waitFor(
      'the worker to die',
      async () => worker.child.exitCode !== null || worker.child.signalCode !== null,
    );
  }

  beforeAll(async () => {
    if (!existsSync(MAIN)) {
      throw new Error(
        `${MAIN} is missing: build the worker first (npm run build / bash scripts/build.sh instance-worker)`,
      );
    }
    await kit.openData();
  });

  afterAll(async () => {
    for (const child of processes)
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await kit.cleanup();
  }, 60_000);

  it('converges to one running instance after kills after the database, after the container, and mid-health-wait', async () => {
    // The stand-in takes 3 s to answer: a window in which the container runs but provisioning is not done.
    const created = await kit.create({ environmentVars: { STUB_STARTUP_DELAY_SECONDS: '3' } });

    const first = await startProcess();
    await waitFor(
      'the database to exist',
      async () => (await kit.pgObjects(created)).databases === 1,
      20_000,
      20,
    );
    await kill(first);

    const second = await startProcess();
    await waitFor(
      'the container to exist',
      async () => (await kit.containersOf(created.id)).length > 0,
      30_000,
      20,
    );
    await kill(second);

    const third = await startProcess();
    await waitFor(
      'the container to run while provisioning',
      async () => {
        const [container] = await kit.containersOf(created.id);
        const row = await kit.get(created.id);
        return container?.State === 'running' && row.status === 'provisioning';
      },
      30_000,
      20,
    );
    await kill(third);

    const fourth = await startProcess();
    const row = await kit.waitForStatus(created.id, 'running', 40_000).catch((error: unknown) => {
      throw new Error(`${String(error)}\n--- worker output ---\n${fourth.output().slice(-3000)}`);
    });
    expect(await kit.containersOf(row.id)).toHaveLength(1);
    expect(await kit.volumesOf(row.id)).toEqual([kit.names(row).volume]);
    expect(await kit.pgObjects(row)).toEqual({ databases: 1, roles: 1 });
    const oneShots = await docker.listContainers({
      all: true,
      filters: { label: [`saasodoo.oneshot.instance=${row.id}`] },
    });
    expect(oneShots).toHaveLength(0);
    expect(await kit.hostPortHealth(row)).toBe(200);
    // The database password stored before the kills is the one that works.
    const db = await kit.instanceDb(row);
    await db.end();
    const provisioning = (await kit.instances.listEvents(row.id)).filter(
      (e) => e.toStatus === 'provisioning',
    );
    expect(provisioning).toHaveLength(1);
    expect(row.adminPasswordEnc).toBeNull();
    await kill(fourth);
  }, 150_000);

  it('finishes a backup interrupted by a SIGKILL', async () => {
    const worker = await startProcess();
    const created = await kit.create();
    await kit.waitForStatus(created.id, 'running');
    await kit.act(created.id, 'backup');
    await kit.waitForStatus(created.id, 'backing_up', 20_000);
    await kill(worker);
    const next = await startProcess();
    const row = await kit.waitForOperation(created.id, 'running', 40_000);
    const rows = await new InstanceBackupsRepository(kit.dataSource).listForInstance(row.id);
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ status: 'completed' });
    await kill(next);
  }, 90_000);
});
