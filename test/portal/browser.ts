import { mkdirSync } from 'node:fs';
import { createConnection } from 'node:net';
import { resolve } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';

/**
 * Debian's Chromium (installed by the test bootstrap, scripts/bootstrap-deps.sh) driven by playwright-core:
 * nothing is downloaded. Screenshots go to docs/screenshots (linked from the README).
 */
export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
export const SCREENSHOTS = resolve(__dirname, '../../docs/screenshots');
const AXE = require.resolve('axe-core/axe.min.js');

export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
  });
}

export async function screenshot(page: Page, name: string): Promise<void> {
  mkdirSync(SCREENSHOTS, { recursive: true });
  await page.screenshot({ path: resolve(SCREENSHOTS, `${name}.png`), fullPage: true });
}

export interface AxeViolation {
  id: string;
  impact: string | null;
  help: string;
  nodes: { target: string[] }[];
}

/** axe-core's serious and critical violations on the page as it is now. */
export async function seriousViolations(page: Page): Promise<AxeViolation[]> {
  await page.addScriptTag({ path: AXE });
  const violations = await page.evaluate(async () => {
    const axe = (window as unknown as { axe: { run: () => Promise<{ violations: AxeViolation[] }> } }).axe;
    return (await axe.run()).violations;
  });
  return violations
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map((v) => ({
      id: v.id,
      impact: v.impact,
      help: v.help,
      nodes: v.nodes.slice(0, 3).map((n) => ({ target: n.target })),
    }));
}

/**
 * Waits until nothing listens on the host-mode ports of `offset` any more (the previous spec's platform may still
 * be closing): start:local would otherwise, for one, find the SMTP port taken and start no mail catcher.
 */
export async function waitForFreePorts(offset: number, timeoutMs = 60_000): Promise<void> {
  const ports = [1025, 1080, 3000, 8001, 8002, 8003, 8004, 8005].map((p) => p + offset);
  const busy = (port: number) =>
    new Promise<boolean>((done) => {
      const socket = createConnection({ host: '127.0.0.1', port });
      socket.once('connect', () => {
        socket.destroy();
        done(true);
      });
      socket.once('error', () => done(false));
    });
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const taken = (await Promise.all(ports.map(async (p) => ((await busy(p)) ? p : 0)))).filter(Boolean);
    if (taken.length === 0) return;
    if (Date.now() > deadline) throw new Error(`ports still taken: ${taken.join(', ')}`);
    await new Promise((done) => setTimeout(done, 250));
  }
}
