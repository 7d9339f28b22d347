import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parse } from 'yaml';
import { alertRules, dashboardQueries, metricNames, PROMETHEUS_DIR } from '@app/testing';

/**
 * Issue #18: the shipped alert rules, Alertmanager configuration and dashboards are valid (promtool/amtool from
 * Debian's prometheus packages, installed by the test bootstrap), every rule is tested both ways, documented and
 * routed, and every dashboard query parses.
 */
const root = resolve(__dirname, '../..');

function run(command: string, args: string[]): string {
  try {
    return execFileSync(command, args, { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (error) {
    const failed = error as { stdout?: string; stderr?: string };
    throw new Error(`${command} ${args.join(' ')} failed:\n${failed.stdout ?? ''}${failed.stderr ?? ''}`, {
      cause: error,
    });
  }
}

interface RuleTestFile {
  tests: { alert_rule_test?: { alertname: string; exp_alerts?: unknown[] }[] }[];
}

describe('alert rules, Alertmanager and dashboards', () => {
  const rules = alertRules();
  const runbook = readFileSync(join(root, 'docs/runbook.md'), 'utf8');

  it('reads metric names out of PromQL (what the scrape test checks against the services)', () => {
    expect(
      metricNames(
        'sum by (job) (rate(x_total{a="b", c=~"d|e"}[5m])) / on (job) y > 2 * z and time() - w offset 5m',
      ),
    ).toEqual(['x_total', 'y', 'z', 'w']);
  });

  it('prometheus.yml (with its rule files) passes promtool check config', () => {
    expect(run('promtool', ['check', 'config', 'infrastructure/prometheus/prometheus.yml'])).toContain(
      'SUCCESS',
    );
  });

  it('every rule unit test passes (promtool test rules)', () => {
    const dir = join(PROMETHEUS_DIR, 'tests');
    const files = readdirSync(dir)
      .filter((f) => f.endsWith('.yml'))
      .map((f) => join(dir, f));
    expect(files.length).toBeGreaterThan(0);
    expect(run('promtool', ['test', 'rules', ...files])).toContain('SUCCESS');
  });

  it('each alert has a test that fires it and one where it must stay silent', () => {
    const dir = join(PROMETHEUS_DIR, 'tests');
    const cases = readdirSync(dir)
      .filter((f) => f.endsWith('.yml'))
      .flatMap((f) => (parse(readFileSync(join(dir, f), 'utf8')) as RuleTestFile).tests)
      .flatMap((t) => t.alert_rule_test ?? []);
    for (const rule of rules) {
      const mine = cases.filter((c) => c.alertname === rule.alert);
      expect([rule.alert, mine.some((c) => (c.exp_alerts ?? []).length > 0)]).toEqual([rule.alert, true]);
      expect([rule.alert, mine.some((c) => (c.exp_alerts ?? []).length === 0)]).toEqual([rule.alert, true]);
    }
  });

  it('every rule has a severity, a summary and a runbook section that exists', () => {
    expect(rules.length).toBeGreaterThanOrEqual(16);
    for (const rule of rules) {
      expect([rule.alert, rule.labels?.severity]).toEqual([
        rule.alert,
        expect.stringMatching(/^(critical|warning)$/),
      ]);
      expect([rule.alert, (rule.annotations?.summary ?? '').length > 10]).toEqual([rule.alert, true]);
      expect([rule.alert, rule.annotations?.runbook]).toEqual([
        rule.alert,
        `docs/runbook.md#${rule.alert.toLowerCase()}`,
      ]);
      expect([rule.alert, runbook.includes(`\n## ${rule.alert}\n`)]).toEqual([rule.alert, true]);
    }
  });

  it('Alertmanager routes by severity with an inhibit rule for a down service, and amtool accepts it', () => {
    const file = 'infrastructure/alertmanager/alertmanager.yml';
    expect(run('amtool', ['check-config', file])).toContain('SUCCESS');
    const config = parse(readFileSync(join(root, file), 'utf8')) as {
      route: { routes: { matchers: string[]; receiver: string }[] };
      inhibit_rules: { source_matchers: string[]; equal: string[] }[];
    };
    const severities = config.route.routes.flatMap((r) => r.matchers);
    expect(severities).toEqual(expect.arrayContaining(['severity="critical"', 'severity="warning"']));
    expect(config.inhibit_rules).toContainEqual(
      expect.objectContaining({ source_matchers: ['alertname="ServiceDown"'], equal: ['job'] }),
    );
  });

  it('every dashboard panel query parses (promtool check rules on them as recording rules)', () => {
    const queries = dashboardQueries();
    const dashboards = new Set(queries.map((q) => q.dashboard));
    expect([...dashboards].sort()).toEqual([
      'backups.json',
      'billing.json',
      'instances.json',
      'jobs.json',
      'platform.json',
    ]);
    const dir = mkdtempSync(join(tmpdir(), 'dashboards-'));
    try {
      const file = join(dir, 'queries.yml');
      const records = queries.map((q, i) => ({ record: `dashboard:query:${i}`, expr: q.expr }));
      writeFileSync(file, JSON.stringify({ groups: [{ name: 'dashboards', rules: records }] }));
      expect(run('promtool', ['check', 'rules', file])).toContain(`SUCCESS: ${records.length} rules found`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
