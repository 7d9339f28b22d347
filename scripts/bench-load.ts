/**
 * The POST load generator shared by bench:webhooks and bench:payments: plain node:http with keep-alive, in a
 * worker thread of its own so it does not share the measured server's event loop. Each body is sent once,
 * `connections` at a time, and its latency recorded in order. With `openFirst`, every connection is opened (one
 * untimed GET of that path each) before the clock starts, so the figures are the answers over established
 * connections, as behind a proxy that keeps its upstream connections alive.
 */
import { Worker } from 'node:worker_threads';

export interface LoadResult {
  durationMs: number;
  latenciesMs: number[];
  statuses: Record<string, number>;
  errors: number;
}

const GENERATOR = `
const { parentPort, workerData } = require('node:worker_threads');
const http = require('node:http');
const { url, bodies, connections, headers, openFirst } = workerData;
const agent = new http.Agent({ keepAlive: true, maxSockets: connections });
const target = new URL(url);
const latencies = new Array(bodies.length);
const statuses = {};
let errors = 0;
let next = 0;
function send(body) {
  return new Promise((resolve) => {
    const started = process.hrtime.bigint();
    const req = http.request({
      agent, host: target.hostname, port: target.port, path: target.pathname + target.search, method: 'POST',
      headers: { ...headers, 'content-length': Buffer.byteLength(body) },
    }, (res) => {
      res.resume();
      res.on('end', () => {
        statuses[res.statusCode] = (statuses[res.statusCode] || 0) + 1;
        resolve(Number(process.hrtime.bigint() - started) / 1e6);
      });
    });
    req.on('error', () => { errors++; resolve(Number(process.hrtime.bigint() - started) / 1e6); });
    req.end(body);
  });
}
async function lane() {
  while (next < bodies.length) {
    const i = next++;
    latencies[i] = await send(bodies[i]);
  }
}
function open() {
  return new Promise((resolve, reject) => {
    const req = http.request({ agent, host: target.hostname, port: target.port, path: openFirst, method: 'GET' }, (res) => {
      res.resume();
      res.on('end', resolve);
    });
    req.on('error', reject);
    req.end();
  });
}
(async () => {
  // All at once: the agent opens one socket per request in flight, so each ends up with a connection of its own.
  if (openFirst) await Promise.all(Array.from({ length: connections }, open));
  const started = Date.now();
  await Promise.all(Array.from({ length: connections }, lane));
  parentPort.postMessage({ durationMs: Date.now() - started, latenciesMs: latencies, statuses, errors });
  agent.destroy();
})();
`;

export function runPostLoad(
  url: string,
  bodies: string[],
  connections: number,
  headers: Record<string, string>,
  options: { openFirst?: string } = {},
): Promise<LoadResult> {
  return new Promise((done, fail) => {
    const worker = new Worker(GENERATOR, {
      eval: true,
      workerData: { url, bodies, connections, headers, openFirst: options.openFirst },
    });
    worker.once('message', (result: LoadResult) => {
      void worker.terminate();
      done(result);
    });
    worker.once('error', fail);
  });
}

export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? 0;
}

export function shuffle<T>(items: T[]): T[] {
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [items[i], items[j]] = [items[j] as T, items[i] as T];
  }
  return items;
}
