import { SmtpSink } from '@app/testing';
import { InstanceUsageMeter } from '../src/lifecycle/instance-usage-meter';
import { LifecycleTestKit } from './support/worker-harness';

/**
 * Issue #11 §2: at 90 % of its storage limit an instance's admin gets one email, through the real SMTP path,
 * and only one until usage has gone back under.
 */
describe('storage warning at 90 % of the limit (real Docker, Postgres and SMTP)', () => {
  const smtp = new SmtpSink();
  let kit: LifecycleTestKit;

  beforeAll(async () => {
    await smtp.start();
    kit = new LifecycleTestKit({ SMTP_HOST: '127.0.0.1', SMTP_PORT: String(smtp.port) });
    await kit.startWorker();
  });

  afterAll(async () => {
    await kit.cleanup();
    await smtp.stop();
  });

  it('sends one mail when usage crosses 90 %, none while it stays over, and again after it went back under', async () => {
    const created = await kit.create({ adminEmail: 'owner@storage.example' });
    const row = await kit.waitForStatus(created.id, 'running');
    const meter = kit.app.app.get(InstanceUsageMeter);
    const warnings = () => smtp.messages({ to: 'owner@storage.example', subject: /of its storage/ });

    await meter.measureAll();
    const measured = await kit.get(row.id);
    const used = (measured.storageBytes ?? 0) + (measured.databaseBytes ?? 0);
    expect(used).toBeGreaterThan(0);
    expect(warnings()).toHaveLength(0);

    // A limit the measured usage exceeds (set behind the API, whose minimum is 1G).
    const tight = `${Math.max(1, Math.floor(used / (1024 * 1024)))}M`;
    await kit.dataSource.query(`UPDATE instances SET storage_limit = $2 WHERE id = $1`, [row.id, tight]);
    await meter.measureAll();
    await smtp.waitFor({ to: 'owner@storage.example', subject: /of its storage/ });
    expect((await kit.get(row.id)).storageWarnedAt).toBeInstanceOf(Date);

    await meter.measureAll();
    expect(warnings()).toHaveLength(1);

    await kit.dataSource.query(`UPDATE instances SET storage_limit = '100G' WHERE id = $1`, [row.id]);
    await meter.measureAll();
    expect((await kit.get(row.id)).storageWarnedAt).toBeNull();
    await kit.dataSource.query(`UPDATE instances SET storage_limit = $2 WHERE id = $1`, [row.id, tight]);
    await meter.measureAll();
    await new Promise((r) => setTimeout(r, 500));
    expect(warnings()).toHaveLength(2);
  }, 120_000);
});
