/**
 * npm run bench:auth — login/s and authenticated GET /auth/me req/s (p50/p99) against a real user-service
 * booted in this process on a random port (real Postgres, Redis and SMTP sink, the tests' environment), with a
 * bare Fastify route measured in the same run as the ceiling. The load generator runs in a worker thread.
 * BENCH_DURATION (seconds, default 10) and BENCH_CONNECTIONS (default 16) tune the runs.
 */
import 'reflect-metadata';
import autocannon from 'autocannon';
import Fastify from 'fastify';
import { AddressInfo } from 'node:net';
import { cpus } from 'node:os';
import { Worker } from 'node:worker_threads';
import { createVerifiedCustomer, SmtpSink, startService, userServiceTestEnv } from '@app/testing';
import { AppModule } from '../apps/user-service/src/app.module';
import { loadEnvExample } from './bench-env';

/**
 * The three internal APIs GET /auth/me reads, answering valid contract answers at once, so the figure includes
 * those calls. They run in a worker thread of their own: in production they are other processes, and in this
 * process they would take the event loop user-service is measured on.
 */
async function internalStubs(): Promise<{ urls: Record<string, string>; close: () => Promise<void> }> {
  const answers: Record<string, unknown> = {
    TENANT_SERVICE_URL: {
      tenant_count: 1,
      tenants: [
        { id: 't1', name: 'Acme', subdomain: 'acme', role: 'owner', plan: 'basic', status: 'active' },
      ],
    },
    INSTANCE_SERVICE_URL: { instance_count: 2, by_status: { running: 2 } },
    BILLING_SERVICE_URL: {
      subscriptions: [
        {
          subscription_id: 's1',
          instance_id: 'i1',
          plan_name: 'basic-monthly',
          phase: 'EVERGREEN',
          state: 'ACTIVE',
          trial_ends_at: null,
          entitled: true,
        },
      ],
      overdue_state: null,
      balance: 0,
    },
  };
  const worker = new Worker(
    `const { createServer } = require('node:http');
     const { parentPort, workerData } = require('node:worker_threads');
     const urls = {};
     const servers = [];
     let pending = Object.keys(workerData).length;
     for (const [name, body] of Object.entries(workerData)) {
       const json = JSON.stringify(body);
       const server = createServer((_req, res) => res.writeHead(200, { 'content-type': 'application/json' }).end(json));
       server.keepAliveTimeout = 60000;
       servers.push(server);
       server.listen(0, '127.0.0.1', () => {
         urls[name] = 'http://127.0.0.1:' + server.address().port;
         if (--pending === 0) parentPort.postMessage(urls);
       });
     }
     parentPort.on('message', () => { for (const s of servers) { s.closeAllConnections(); s.close(); } parentPort.close(); });`,
    { eval: true, workerData: answers },
  );
  const urls = await new Promise<Record<string, string>>((done) => worker.once('message', done));
  return {
    urls,
    close: async () => {
      worker.postMessage('close');
      await new Promise<void>((done) => worker.once('exit', () => done()));
    },
  };
}

/** /auth/me must read all three services for its figure to mean anything: one call, checked, no row. */
async function checkedMe(url: string, headers: Record<string, string>): Promise<void> {
  const me = (await (await fetch(`${url}/auth/me`, { headers })).json()) as {
    warnings?: string[];
    instance_count?: number | null;
  };
  if ((me.warnings ?? []).length > 0 || me.instance_count !== 2) {
    throw new Error(`GET /auth/me did not read the three stubs: ${JSON.stringify(me)}`);
  }
}

interface Row {
  name: string;
  rps: number;
  p50: number;
  p99: number;
  requests: number;
  failures: number;
}

async function measure(name: string, options: autocannon.Options): Promise<Row> {
  const result = await autocannon({
    duration: Number(process.env.BENCH_DURATION ?? 10),
    connections: Number(process.env.BENCH_CONNECTIONS ?? 16),
    workers: 1,
    ...options,
  });
  const failures = result.non2xx + result.errors + result.timeouts;
  const row = {
    name,
    rps: result.requests.average,
    p50: result.latency.p50,
    p99: result.latency.p99,
    requests: result.requests.total,
    failures,
  };
  process.stdout.write(`  measured ${name}: ${Math.round(row.rps)} req/s\n`);
  return row;
}

function print(rows: Row[]): void {
  const header = ['scenario', 'req/s', 'p50 ms', 'p99 ms', 'requests', 'non-2xx/errors'];
  const lines = rows.map((r) => [
    r.name,
    r.rps.toFixed(0),
    r.p50.toFixed(1),
    r.p99.toFixed(1),
    String(r.requests),
    String(r.failures),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i]!.length)));
  const fmt = (cells: string[]) =>
    cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  process.stdout.write(
    `\n${fmt(header)}\n${widths.map((w) => '-'.repeat(w)).join('  ')}\n${lines.map(fmt).join('\n')}\n`,
  );
}

async function main(): Promise<void> {
  loadEnvExample();
  const smtp = new SmtpSink();
  await smtp.start();
  const stubs = await internalStubs();
  const unlimited = '1000000000';
  const users = await startService(
    AppModule,
    'user-service',
    userServiceTestEnv(smtp, {
      ...stubs.urls,
      LOG_LEVEL: 'warn',
      RATE_LIMIT_LOGIN_PER_IP: unlimited,
      RATE_LIMIT_LOGIN_PER_EMAIL: unlimited,
      LOGIN_LOCKOUT_THRESHOLD: unlimited,
    }),
  );
  const usersUrl = await users.listen();

  const bare = Fastify({ logger: false });
  bare.get('/ping', async () => ({ ok: true }));
  bare.post('/echo', async (request) => ({ ok: true, got: request.body }));
  await bare.listen({ port: 0, host: '127.0.0.1' });
  const bareUrl = `http://127.0.0.1:${(bare.server.address() as AddressInfo).port}`;

  try {
    const customer = await createVerifiedCustomer(users, smtp);
    const json = { 'content-type': 'application/json' };
    const loginBody = JSON.stringify({ email: customer.email, password: customer.password });
    const auth = { authorization: `Bearer ${customer.access_token}` };
    process.stdout.write(
      `bench:auth on ${cpus().length} CPU(s) (${cpus()[0]?.model ?? 'unknown'}), node ${process.version}, ` +
        `${process.env.BENCH_CONNECTIONS ?? 16} connections, ${process.env.BENCH_DURATION ?? 10} s per scenario\n`,
    );
    await checkedMe(usersUrl, auth);
    const rows = [
      await measure('bare Fastify GET /ping (ceiling)', { url: `${bareUrl}/ping` }),
      await measure('bare Fastify POST /echo (ceiling)', {
        url: `${bareUrl}/echo`,
        method: 'POST',
        headers: json,
        body: loginBody,
      }),
      await measure('user-service POST /auth/login', {
        url: `${usersUrl}/auth/login`,
        method: 'POST',
        headers: json,
        body: loginBody,
      }),
      await measure('user-service GET /auth/me', { url: `${usersUrl}/auth/me`, headers: auth }),
      await measure('user-service GET /users/profile', { url: `${usersUrl}/users/profile`, headers: auth }),
    ];
    print(rows);
    process.stdout.write(
      '\nlogin = rate-limit + lockout checks in Redis, argon2id verify (19 MiB, t=2), session row + refresh token in Postgres,\n' +
        'session key in Redis, ES256 signature. /auth/me = ES256 verify + Redis session check + profile query + 3 internal\n' +
        'HTTP calls (local stubs). /users/profile = the same without the internal calls.\n',
    );
    if (rows.some((r) => r.failures > 0)) process.exitCode = 1;
  } finally {
    await users.close();
    await bare.close();
    await stubs.close();
    await smtp.stop();
  }
}

main().then(
  () => process.exit(process.exitCode ?? 0),
  (error: unknown) => {
    process.stderr.write(
      `bench:auth failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
    );
    process.exit(1);
  },
);
