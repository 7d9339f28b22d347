/**
 * npm run check:bundle: the first-load JavaScript of the built portal (apps/portal/dist), gzipped, must stay
 * within the budget (issue #13: 250 KB). First load = the entry scripts and module preloads index.html names,
 * plus every chunk they import statically; lazily loaded screens are not counted.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { gzipSync } from 'node:zlib';

const BUDGET_BYTES = Number(process.env.PORTAL_JS_BUDGET_BYTES ?? 250 * 1000);
const dist = resolve(__dirname, '../apps/portal/dist');
const indexFile = join(dist, 'index.html');
if (!existsSync(indexFile)) {
  console.error(`check:bundle: ${indexFile} is missing; run npm run build first`);
  process.exit(1);
}

const html = readFileSync(indexFile, 'utf8');
const entries = [
  ...html.matchAll(/<script[^>]*type="module"[^>]*src="([^"]+)"/g),
  ...html.matchAll(/<link[^>]*rel="modulepreload"[^>]*href="([^"]+)"/g),
].map((m) => m[1]);

const seen = new Set<string>();
const queue = [...entries];
while (queue.length > 0) {
  const url = queue.shift() as string;
  if (seen.has(url)) continue;
  seen.add(url);
  const code = readFileSync(join(dist, url), 'utf8');
  // Static imports only (`import ... from "./x.js"` / `import "./x.js"`); `import("./x.js")` is lazy.
  for (const m of code.matchAll(/(?:^|[;\s}])import\s*(?:[^"'()]*?\sfrom\s*)?["'](\.\/[^"']+\.js)["']/g)) {
    queue.push(`/assets/${m[1].slice(2)}`);
  }
}

let total = 0;
for (const url of seen) {
  const gz = gzipSync(readFileSync(join(dist, url)), { level: 9 }).length;
  total += gz;
  console.log(`  ${url}  ${(gz / 1000).toFixed(1)} KB gzipped`);
}
const verdict = total <= BUDGET_BYTES ? 'within' : 'OVER';
console.log(
  `check:bundle: first-load JS ${(total / 1000).toFixed(1)} KB gzipped (${seen.size} file${seen.size === 1 ? '' : 's'}), ${verdict} the ${(BUDGET_BYTES / 1000).toFixed(0)} KB budget`,
);
if (total > BUDGET_BYTES) process.exit(1);
