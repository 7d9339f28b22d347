import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const root = resolve(__dirname, '../..');
const offset = 20000;
const apps = ['user-service', 'tenant-service', 'instance-service', 'billing-service', 'instance-worker'];

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe('npm run start:local', () => {
  const scratch = mkdtempSync(join(tmpdir(), 'start-local-'));
  const envFile = join(scratch, '.env');
  afterAll(() => rmSync(scratch, { recursive: true, force: true }));

  it('brings all five processes up, ready, and down cleanly on SIGTERM', async () => {
    const child = spawn('bash', ['scripts/start-local.sh'], {
      cwd: root,
      env: {
        ...process.env,
        START_LOCAL_SKIP_BUILD: '1',
        LOCAL_PORT_OFFSET: String(offset),
        START_LOCAL_ENV_FILE: envFile,
        START_LOCAL_DIR: join(scratch, 'local'),
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    const exited = new Promise<number | null>((done) => child.on('exit', (code) => done(code)));

    const deadline = Date.now() + 150_000;
    while (!output.includes('the platform is up')) {
      if (Date.now() > deadline || child.exitCode !== null)
        throw new Error(`start:local did not come up:\n${output}`);
      await new Promise((r) => setTimeout(r, 500));
    }
    const pids = [...output.matchAll(/started \(pid (\d+)/g)].map((m) => Number(m[1]));
    expect(pids).toHaveLength(5);

    for (const [i, app] of apps.entries()) {
      const res = await fetch(`http://127.0.0.1:${8001 + offset + i}/health/ready`);
      expect([app, res.status]).toEqual([app, 200]);
      expect(await res.json()).toMatchObject({ status: 'ready', service: app });
    }

    // The first start wrote a .env of its own, with none of the secrets shipped in .env.example.
    const shipped = readFileSync(join(root, '.env.example'), 'utf8');
    const written = readFileSync(envFile, 'utf8');
    for (const name of [
      'INTERNAL_API_TOKEN',
      'INSTANCE_SECRETS_KEY',
      'KILLBILL_WEBHOOK_SECRET',
      'USER_SERVICE_DB_PASSWORD',
    ]) {
      const value = new RegExp(`^${name}=(.+)$`, 'm').exec(written)?.[1];
      expect([name, value && value.length >= 32]).toEqual([name, true]);
      expect(shipped).not.toContain(`${name}=${value}`);
    }
    expect(existsSync(join(scratch, 'local', 'logs', 'user-service.log'))).toBe(true);

    child.kill('SIGTERM');
    expect(await exited).toBe(0);
    expect(output).toContain('all stopped');
    expect(pids.filter(alive)).toEqual([]);
  }, 180_000);
});
