import { spawnSync } from 'node:child_process';
import { resolve } from 'node:path';

/** npm run check:bundle (issue #13): prints the portal's first-load JS, gzipped, and fails above the budget. */
const ROOT = resolve(__dirname, '../..');

function checkBundle(env: Record<string, string> = {}) {
  const run = spawnSync('npm', ['run', '--silent', 'check:bundle'], {
    cwd: ROOT,
    env: { ...process.env, ...env },
    encoding: 'utf8',
  });
  return { code: run.status, out: run.stdout + run.stderr };
}

describe('check:bundle', () => {
  it('passes the built portal within 250 KB and prints the figure', () => {
    const { code, out } = checkBundle();
    expect(out).toMatch(/first-load JS \d+\.\d KB gzipped \(\d+ files?\), within the 250 KB budget/);
    const kb = Number(/first-load JS (\d+\.\d) KB/.exec(out)?.[1]);
    expect(kb).toBeGreaterThan(30); // React alone is more: the entry and what it imports were counted
    expect(kb).toBeLessThanOrEqual(250);
    expect(code).toBe(0);
  });

  it('fails when the first load is over the budget', () => {
    const { code, out } = checkBundle({ PORTAL_JS_BUDGET_BYTES: '20000' });
    expect(out).toMatch(/OVER the 20 KB budget/);
    expect(code).toBe(1);
  });
});
