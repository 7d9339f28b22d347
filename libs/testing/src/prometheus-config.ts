import { readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parse } from 'yaml';

/** The alerting and dashboard configuration the repository ships, read for its tests. */
const ROOT = resolve(__dirname, '../../..');
export const PROMETHEUS_DIR = join(ROOT, 'infrastructure/prometheus');
export const DASHBOARDS_DIR = join(ROOT, 'infrastructure/grafana/dashboards');

export interface AlertRule {
  alert: string;
  expr: string;
  for?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}

export function alertRules(): AlertRule[] {
  const dir = join(PROMETHEUS_DIR, 'rules');
  return readdirSync(dir)
    .filter((f) => f.endsWith('.yml'))
    .flatMap(
      (f) => (parse(readFileSync(join(dir, f), 'utf8')) as { groups: { rules: AlertRule[] }[] }).groups,
    )
    .flatMap((g) => g.rules);
}

export interface DashboardQuery {
  dashboard: string;
  panel: string;
  expr: string;
}

interface Panel {
  title?: string;
  targets?: { expr?: string }[];
  panels?: Panel[];
}

/** Every panel query of every provisioned dashboard, Grafana's variables replaced by plain values. */
export function dashboardQueries(): DashboardQuery[] {
  return readdirSync(DASHBOARDS_DIR)
    .filter((f) => f.endsWith('.json'))
    .flatMap((file) => {
      const dashboard = JSON.parse(readFileSync(join(DASHBOARDS_DIR, file), 'utf8')) as { panels: Panel[] };
      const panels = dashboard.panels.flatMap((p) => [p, ...(p.panels ?? [])]);
      return panels.flatMap((panel) =>
        (panel.targets ?? [])
          .filter((t) => t.expr)
          .map((t) => ({
            dashboard: file,
            panel: panel.title ?? '?',
            expr: (t.expr ?? '')
              .replace(/\$__rate_interval|\$__interval/g, '5m')
              .replace(/\$__range/g, '1h')
              .replace(/\$\{?[a-z_]+\}?/g, '.+'),
          })),
      );
    });
}

const NOT_METRICS = new Set([
  'and',
  'or',
  'unless',
  'by',
  'without',
  'on',
  'ignoring',
  'offset',
  'bool',
  'group_left',
  'group_right',
  'inf',
  'nan',
]);

/** The metric names a PromQL expression reads (label matchers, groupings, strings and functions left out). */
export function metricNames(expr: string): string[] {
  const stripped = expr
    .replace(/"(?:[^"\\]|\\.)*"/g, '""')
    .replace(/\{[^}]*\}/g, ' ')
    .replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, ' ')
    .replace(/\[[^\]]*\]/g, ' ');
  const names = new Set<string>();
  for (const match of stripped.matchAll(/\b([a-zA-Z_:][a-zA-Z0-9_:]*)\b(\s*\()?/g)) {
    const [, name, call] = match;
    if (!name || call || NOT_METRICS.has(name.toLowerCase()) || /^\d/.test(name)) continue;
    names.add(name);
  }
  return [...names];
}
