import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { HOST_MODE_APPS, HostPlatform, processAlive } from '@app/testing';

const root = resolve(__dirname, '../..');

describe('npm run start:local', () => {
  const platform = new HostPlatform({ portOffset: 20000 });
  afterAll(() => platform.dispose());

  it('brings all five processes up, ready, and down cleanly on SIGTERM', async () => {
    await platform.start();
    const pids = HOST_MODE_APPS.map((app) => platform.pid(app));
    expect(new Set(pids).size).toBe(5);

    for (const app of HOST_MODE_APPS) {
      const res = await fetch(`${platform.url(app)}/health/ready`);
      expect([app, res.status]).toEqual([app, 200]);
      expect(await res.json()).toMatchObject({ status: 'ready', service: app });
    }

    // The first start wrote a .env of its own, with none of the secrets shipped in .env.example.
    const shipped = readFileSync(join(root, '.env.example'), 'utf8');
    const written = readFileSync(platform.envFile, 'utf8');
    for (const name of [
      'INTERNAL_API_TOKEN',
      'INSTANCE_SECRETS_KEY',
      'KILLBILL_WEBHOOK_SECRET',
      'USER_SERVICE_DB_PASSWORD',
    ]) {
      const value = new RegExp(`^${name}=(.+)$`, 'm').exec(written)?.[1] ?? '';
      expect([name, value.length >= 32]).toEqual([name, true]);
      expect(shipped).not.toContain(`${name}=${value}`);
    }
    expect(platform.logs()).toContain('user-service');

    expect(await platform.stop()).toBe(0);
    expect(platform.output()).toContain('all stopped');
    expect(pids.filter(processAlive)).toEqual([]);
    expect(platform.leftoverProcesses()).toEqual([]);
  }, 180_000);
});
