import { alertRules, dashboardQueries, HOST_MODE_APPS, HostPlatform, metricNames } from '@app/testing';

/**
 * Issue #18: every metric an alert rule or a dashboard reads is one the platform really exports, checked by
 * scraping the five processes as `npm run start:local` runs them. Prometheus' own `up` and other jobs' metrics
 * (Traefik, Prometheus) are not the platform's.
 */
const platform = new HostPlatform({ portOffset: 24000 });
const FOREIGN = /^(up|traefik_.*|prometheus_.*)$/;

/** Names a scrape declares (`# TYPE name kind`), with the series names histograms and summaries add. */
function declared(text: string): Set<string> {
  const names = new Set<string>();
  for (const [, name, kind] of text.matchAll(/^# TYPE (\S+) (\S+)$/gm)) {
    if (!name) continue;
    names.add(name);
    if (kind === 'histogram') for (const s of ['_bucket', '_sum', '_count']) names.add(`${name}${s}`);
    if (kind === 'summary') for (const s of ['_sum', '_count']) names.add(`${name}${s}`);
  }
  return names;
}

describe('metrics the alerts and dashboards read', () => {
  afterAll(() => platform.dispose());

  it('are all exported by the running services and worker', async () => {
    await platform.start();
    const exported = new Set<string>();
    for (const app of HOST_MODE_APPS) {
      const res = await fetch(`${platform.url(app)}/metrics`);
      expect([app, res.status]).toEqual([app, 200]);
      for (const name of declared(await res.text())) exported.add(name);
    }
    const used = [
      ...alertRules().map((r) => ({ where: `rule ${r.alert}`, expr: r.expr })),
      ...dashboardQueries().map((q) => ({ where: `${q.dashboard}: ${q.panel}`, expr: q.expr })),
    ];
    const missing = used.flatMap(({ where, expr }) =>
      metricNames(expr)
        .filter((name) => !FOREIGN.test(name) && !exported.has(name))
        .map((name) => `${where}: ${name}`),
    );
    expect(missing).toEqual([]);
    // The worker's state gauges are filled from the database at scrape time, not merely declared.
    const worker = await (await fetch(`${platform.url('instance-worker')}/metrics`)).text();
    expect(worker).toMatch(/^lifecycle_queue_jobs\{state="waiting"[^}]*\} \d+$/m);
    expect(worker).toMatch(/^instances_diverged\{[^}]*\} \d+$/m);
    expect(worker).toMatch(/^dependency_up\{dependency="docker"[^}]*\} 1$/m);
    const billing = await (await fetch(`${platform.url('billing-service')}/metrics`)).text();
    expect(billing).toMatch(/^billing_inbox_pending\{[^}]*\} \d+$/m);
    expect(billing).toMatch(/^dependency_up\{dependency="database"[^}]*\} 1$/m);
  }, 180_000);
});
