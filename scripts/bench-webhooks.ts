/**
 * npm run bench:webhooks — throughput of the Kill Bill push receiver.
 *
 * Boots billing-service in this process (its real AppModule, on the tests' billing_test database, which it
 * empties first) against the Kill Bill emulator (a test double, in a child process like a real Kill Bill) and
 * the internal-API stand-in, creates a few tenants with real subscriptions, then posts BENCH_NOTIFICATIONS notifications (default 20000; 30% of them
 * exact duplicates of others, sent in random order) from BENCH_CONNECTIONS keep-alive connections (default
 * 32) in a worker thread. It prints accepted/s, latency percentiles, and the final counts once every
 * notification has been processed: stored, duplicates dropped, processed, ignored, failed, lost.
 * Exit code 1 when a notification is lost or one was not accepted.
 */
import 'reflect-metadata';
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { cpus } from 'node:os';
import { resolve } from 'node:path';
import { MetricsRegistry } from '@app/metrics';
import { KillBillClient } from '../apps/billing-service/src/killbill/killbill.client';
import { InboxCounts, InboxRepository } from '../apps/billing-service/src/webhooks/inbox.repository';
import {
  billingEnv,
  freePort,
  internalHeaders,
  KB_API_KEY,
  KB_API_SECRET,
  resetBillingDatabase,
  startBilling,
  WEBHOOK_SECRET,
} from '../apps/billing-service/test/support/billing-harness';
import { InternalApiStandIn } from '../apps/billing-service/test/support/internal-api-stand-in';
import { percentile, runPostLoad, shuffle } from './bench-load';
import { loadEnvExample } from './bench-env';

interface Target {
  accountId: string;
  subscriptionId: string;
  invoiceId: string;
}

/** Realistic unique notifications (contract §3.4 shapes): half need a Kill Bill re-read, half are ignored. */
function notification(targets: Target[], i: number): string {
  const t = targets[i % targets.length];
  const at = new Date(Date.UTC(2025, 2, 1) + i * 1000).toISOString();
  switch (i % 4) {
    case 0:
      return JSON.stringify({
        eventType: 'BLOCKING_STATE',
        accountId: t.accountId,
        objectType: 'ACCOUNT',
        objectId: t.accountId,
        metaData: JSON.stringify({
          blockableId: t.accountId,
          service: 'overdue-service',
          stateName: '__KILLBILL__CLEAR__OVERDUE_STATE__',
          blockingType: 'ACCOUNT',
          effectiveDate: at,
          transitionedToBlockedBilling: false,
          transitionedToUnblockedBilling: false,
          transitionedToBlockedEntitlement: false,
          transitionedToUnblockedEntitlement: false,
        }),
      });
    case 1:
      return JSON.stringify({
        eventType: 'INVOICE_PAYMENT_SUCCESS',
        accountId: t.accountId,
        objectType: 'INVOICE',
        objectId: t.invoiceId,
        metaData: JSON.stringify({
          paymentId: randomUUID(),
          paymentAttemptId: randomUUID(),
          paymentDate: at,
        }),
      });
    case 2:
      return JSON.stringify({
        eventType: 'PAYMENT_SUCCESS',
        accountId: t.accountId,
        objectType: 'PAYMENT',
        objectId: randomUUID(),
        metaData: JSON.stringify({
          paymentTransactionId: randomUUID(),
          amount: 5,
          currency: 'USD',
          status: 'SUCCESS',
        }),
      });
    default:
      return JSON.stringify({
        eventType: 'TAG_CREATION',
        accountId: t.accountId,
        objectType: 'TAG',
        objectId: randomUUID(),
        metaData: JSON.stringify({ tagDefinitionName: 'AUTO_PAY_OFF' }),
      });
  }
}

/** The Kill Bill emulator in its own process (npm run killbill:emulator), as Kill Bill would be. */
async function startEmulator(): Promise<{ url: string; stop: () => void }> {
  const port = await freePort();
  const child = spawn(
    process.execPath,
    ['-r', 'ts-node/register/transpile-only', resolve(__dirname, 'killbill-emulator.ts')],
    { env: { ...process.env, PORT: String(port) }, stdio: ['ignore', 'pipe', 'inherit'] },
  );
  await new Promise<void>((ready, fail) => {
    child.once('exit', (code) => fail(new Error(`the Kill Bill emulator exited (${code})`)));
    child.stdout.on('data', (chunk: Buffer) => {
      if (chunk.toString().includes('listening on')) ready();
    });
  });
  return { url: `http://127.0.0.1:${port}`, stop: () => child.kill('SIGTERM') };
}

async function settled(inbox: InboxRepository, timeoutMs: number): Promise<InboxCounts> {
  const deadline = Date.now() + timeoutMs;
  let counts = await inbox.counts();
  while (counts.byStatus.pending + counts.byStatus.processing > 0 && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 100));
    counts = await inbox.counts();
  }
  return counts;
}

async function syncCount(metrics: MetricsRegistry): Promise<number> {
  const metric = metrics.registry.getSingleMetric('billing_account_syncs_total');
  const values = metric ? (await metric.get()).values : [];
  return values.reduce((sum, v) => sum + v.value, 0);
}

async function main(): Promise<void> {
  loadEnvExample();
  const total = Number(process.env.BENCH_NOTIFICATIONS ?? 20_000);
  const connections = Number(process.env.BENCH_CONNECTIONS ?? 32);
  const duplicateShare = 0.3;
  const tenants = 20;

  await resetBillingDatabase();
  const kb = await startEmulator();
  const killbill = new KillBillClient({
    url: kb.url,
    username: 'admin',
    password: 'password',
    apiKey: KB_API_KEY,
    apiSecret: KB_API_SECRET,
    createdBy: 'bench',
    timeoutMs: 5000,
    retries: 0,
  });
  const services = new InternalApiStandIn(process.env.INTERNAL_API_TOKEN ?? '');
  await services.start();
  const callbackPort = await freePort();
  const billing = await startBilling(
    billingEnv({
      killbillUrl: kb.url,
      servicesUrl: services.url,
      callbackPort,
      overrides: { LOG_LEVEL: 'error', BILLING_INBOX_POLL_MS: '200' },
    }),
    callbackPort,
  );
  try {
    for (
      let i = 0;
      i < 100 && (await billing.harness.request({ method: 'GET', url: '/health/ready' })).statusCode !== 200;
      i++
    ) {
      await new Promise((r) => setTimeout(r, 100));
    }

    const targets: Target[] = [];
    for (let i = 0; i < tenants; i++) {
      const tenantId = randomUUID();
      const instance = services.addInstance(tenantId);
      const res = await billing.harness.request({
        method: 'POST',
        url: '/internal/subscriptions',
        headers: internalHeaders(),
        payload: {
          tenant_id: tenantId,
          instance_id: instance.id,
          customer_id: randomUUID(),
          plan_name: 'basic-immediate',
        },
      });
      const { subscription_id } = res.json<{ subscription_id: string }>();
      const sub = await killbill.getSubscription(subscription_id);
      const [invoice] = await killbill.getAccountInvoices(sub.accountId);
      if (!invoice) throw new Error(`no invoice for ${res.body}`);
      targets.push({
        accountId: sub.accountId,
        subscriptionId: sub.subscriptionId,
        invoiceId: invoice.invoiceId,
      });
    }

    // What Kill Bill itself pushed during the set-up is processed first and left out of the counts.
    const inbox = billing.harness.app.get(InboxRepository);
    const before = await settled(inbox, 60_000);

    const uniqueCount = Math.round(total * (1 - duplicateShare));
    const unique = Array.from({ length: uniqueCount }, (_, i) => notification(targets, i));
    const duplicates = Array.from(
      { length: total - uniqueCount },
      () => unique[Math.floor(Math.random() * uniqueCount)],
    );
    const bodies = shuffle([...unique, ...duplicates]);

    process.stdout.write(
      `bench:webhooks on ${cpus().length} CPU(s) (${cpus()[0]?.model ?? 'unknown'}), node ${process.version}: ` +
        `${total} notifications (${uniqueCount} distinct + ${total - uniqueCount} duplicates, shuffled), ` +
        `${connections} connections\n`,
    );
    const url = `${billing.url}/api/billing/webhooks/killbill?token=${encodeURIComponent(WEBHOOK_SECRET)}`;
    const load = await runPostLoad(url, bodies, connections, {
      'content-type': 'application/json; charset=UTF-8',
      'user-agent': 'KillBill/1.0',
    });
    const accepted = Object.entries(load.statuses)
      .filter(([status]) => Number(status) >= 200 && Number(status) < 300)
      .reduce((sum, [, n]) => sum + n, 0);
    const sorted = [...load.latenciesMs].sort((a, b) => a - b);

    const acceptedAt = Date.now();
    const after = await settled(inbox, 300_000);
    const processingMs = Date.now() - acceptedAt;
    const counts = {
      total: after.total - before.total,
      duplicates: after.duplicates - before.duplicates,
      byStatus: {
        processed: after.byStatus.processed - before.byStatus.processed,
        ignored: after.byStatus.ignored - before.byStatus.ignored,
        failed: after.byStatus.failed - before.byStatus.failed,
        pending: after.byStatus.pending,
        processing: after.byStatus.processing,
      },
    };
    const lost = uniqueCount - counts.total;
    const syncs = await syncCount(billing.harness.app.get(MetricsRegistry));
    const rate = accepted / (load.durationMs / 1000);

    const line = (label: string, value: string) => process.stdout.write(`  ${label.padEnd(28)} ${value}\n`);
    process.stdout.write('\nreceiver\n');
    line('sent', String(total));
    line('accepted (2xx)', `${accepted}  (other: ${JSON.stringify(load.statuses)}, errors ${load.errors})`);
    line('duration', `${load.durationMs} ms`);
    line('accepted/s', rate.toFixed(0));
    line(
      'latency p50 / p90 / p99 / max',
      [50, 90, 99, 100].map((p) => `${percentile(sorted, p).toFixed(1)}`).join(' / ') + ' ms',
    );
    process.stdout.write('\ninbox after processing\n');
    line('stored (distinct bodies)', `${counts.total} of ${uniqueCount}`);
    line('duplicates dropped', `${counts.duplicates} of ${total - uniqueCount}`);
    line(
      'processed (Kill Bill re-read)',
      `${counts.byStatus.processed} (${syncs} account syncs after coalescing)`,
    );
    line('ignored (no action needed)', String(counts.byStatus.ignored));
    line('failed', String(counts.byStatus.failed));
    line('still pending', String(counts.byStatus.pending + counts.byStatus.processing));
    line('lost', String(lost));
    line('processing drained after', `${processingMs} ms past the last request`);
    line('target (>= 2000 accepted/s, none lost)', rate >= 2000 && lost === 0 ? 'met' : 'NOT met');
    if (lost !== 0 || accepted !== total || counts.duplicates !== total - uniqueCount) process.exitCode = 1;
  } finally {
    await billing.close();
    await services.stop();
    killbill.close();
    kb.stop();
  }
}

main().then(
  () => process.exit(process.exitCode ?? 0),
  (error: unknown) => {
    process.stderr.write(
      `bench:webhooks failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
    );
    process.exit(1);
  },
);
