import { randomBytes } from 'node:crypto';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { DOMAIN_EVENTS } from '@app/contracts';
import { DomainEventPublisher } from '@app/redis';
import {
  loginCustomer,
  serviceTestEnv,
  ServiceHarness,
  SseReader,
  startService,
  strongPassword,
  TestCustomer,
  uniqueEmail,
  waitFor,
} from '@app/testing';
import { AppModule as WorkerModule } from '../../instance-worker/src/app.module';
import { LifecycleWorker } from '../../instance-worker/src/lifecycle/lifecycle-worker';
import { AppModule as TenantModule } from '../../tenant-service/src/app.module';
import { AdminAccountsService } from '../../user-service/src/admin/admin-accounts.service';
import { AppModule as UserModule } from '../../user-service/src/app.module';
import { EventStreamHub } from '../src/events/event-stream.hub';
import { EventStreamService } from '../src/events/event-stream.service';
import {
  addMember,
  bearer,
  cleanupInstances,
  createBody,
  createInstance,
  expectStatus,
  InstanceBody,
  newCustomer,
  newTenant,
  Stack,
  startStack,
  TestTenant,
  uniqueQueuePrefix,
} from './support';

/*
 * Live status end to end: the worker (its real AppModule, on the real Docker engine with the stand-in image)
 * records statuses and publishes instance.status_changed on Redis; instance-service consumes it (hybrid app)
 * and streams it, over real HTTP, to a plain fetch reader.
 */
const runId = randomBytes(4).toString('hex');

describe('instance-service: GET /api/v1/events/stream (Server-Sent Events of domain events)', () => {
  let stack: Stack;
  let worker: ServiceHarness;
  let owner: TestCustomer;
  let stranger: TestCustomer;
  let tenant: TestTenant;
  const readers: SseReader[] = [];
  const created: InstanceBody[] = [];
  const backupDir = join(tmpdir(), `saasodoo-sse-e2e-${runId}`);

  beforeAll(async () => {
    const queuePrefix = uniqueQueuePrefix();
    stack = await startStack(
      { user: UserModule, tenant: TenantModule },
      { queuePrefix, instanceEnv: { EVENT_STREAM_HEARTBEAT_MS: '400', EVENT_STREAM_BUFFER_SIZE: '1000' } },
    );
    worker = await startService(
      WorkerModule,
      'instance-worker',
      serviceTestEnv('instance-worker', {
        QUEUE_PREFIX: queuePrefix,
        ODOO_IMAGE_TEMPLATE: 'saasodoo/odoo-stub:{version}',
        ODOO_NETWORK: `sotest-odoo-${runId}`,
        RECONCILE_INTERVAL_MS: '600000',
        PROVISION_HEALTH_TIMEOUT_MS: '20000',
        INSTANCE_PURGE_AFTER_SECONDS: '0',
        ODOO_STOP_TIMEOUT_SECONDS: '2',
        BACKUP_DIR: backupDir,
        BASE_DOMAIN: 'saasodoo.test',
        LOG_LEVEL: 'error',
      }),
    );
    await worker.app.get(LifecycleWorker).whenStarted();
    owner = await newCustomer(stack);
    stranger = await newCustomer(stack);
    tenant = await newTenant(stack, owner);
    await newTenant(stack, stranger);
  }, 120_000);

  afterAll(async () => {
    for (const reader of readers) await reader.close();
    await worker?.close();
    await rm(backupDir, { recursive: true, force: true });
    if (stack) {
      await cleanupInstances(
        stack,
        created.map((i) => i.id),
      );
      await stack.close();
    }
  }, 120_000);

  const streamUrl = () => `${stack.urls.instance}/api/v1/events/stream`;

  async function open(customer: TestCustomer, lastEventId?: string): Promise<SseReader> {
    const reader = await SseReader.open(streamUrl(), {
      ...bearer(customer),
      ...(lastEventId ? { 'last-event-id': lastEventId } : {}),
    });
    readers.push(reader);
    return reader;
  }

  async function statusOf(id: string): Promise<string> {
    const res = await stack.instances.request({
      method: 'GET',
      url: `/api/v1/instances/${id}/status`,
      headers: bearer(owner),
    });
    expectStatus(res, 200);
    return res.json<{ status: string }>().status;
  }

  it('refuses a caller without a token in the common envelope', async () => {
    const res = await stack.instances.request({ method: 'GET', url: '/api/v1/events/stream' });
    expect(res.statusCode).toBe(401);
    expect(res.json()).toMatchObject({ statusCode: 401, request_id: expect.any(String) });
  });

  it('streams the worker’s status changes to the owner within 2 s, nothing to another tenant’s user, and resumes with Last-Event-ID', async () => {
    const mine = await open(owner);
    const theirs = await open(stranger);
    expect(mine.status).toBe(200);
    expect(mine.headers.get('content-type')).toMatch(/^text\/event-stream/);
    expect(mine.headers.get('x-accel-buffering')).toBe('no');
    expect(mine.headers.get('cache-control')).toContain('no-cache');

    const instance = await createInstance(
      stack,
      owner,
      createBody(tenant.id, { cpu_limit: 0.5, memory_limit: '256M', storage_limit: '1G' }),
    );
    created.push(instance);
    const ofInstance = (data: Record<string, unknown>) => data.instance_id === instance.id;

    const running = await waitFor(
      'instance.status_changed → running on the owner’s stream',
      async () =>
        mine.find(DOMAIN_EVENTS.instanceStatusChanged, (d) => ofInstance(d) && d.status === 'running')[0],
      90_000,
      50,
    );
    const received = mine.find(DOMAIN_EVENTS.instanceStatusChanged, ofInstance);
    expect(received.length).toBeGreaterThanOrEqual(2); // provisioning → … → running
    for (const event of received) {
      const data = JSON.parse(event.data) as { at: string; tenant_id: string; desired_state: string };
      expect(data).toMatchObject({ tenant_id: tenant.id, desired_state: 'running' });
      // Recorded by the worker (the row's updated_at) → on the client's screen: under 2 s.
      expect(event.receivedAt - Date.parse(data.at)).toBeLessThan(2000);
    }
    const ids = received.map((e) => Number(e.id));
    expect([...ids].sort((a, b) => a - b)).toEqual(ids);
    expect(await statusOf(instance.id)).toBe('running');

    // The heartbeat comes through as a comment.
    await waitFor('a heartbeat', async () => mine.comments.includes('heartbeat'), 5000);

    // The other tenant's user saw none of it (heartbeats only).
    await waitFor('the stranger’s heartbeat', async () => theirs.comments.includes('heartbeat'), 5000);
    expect(theirs.find(DOMAIN_EVENTS.instanceStatusChanged, ofInstance)).toEqual([]);
    expect(theirs.events.filter((e) => JSON.parse(e.data).tenant_id === tenant.id)).toEqual([]);

    // Disconnected, the owner misses the stop; reconnecting with Last-Event-ID replays it.
    await mine.close();
    const stop = await stack.instances.request({
      method: 'POST',
      url: `/api/v1/instances/${instance.id}/actions`,
      headers: bearer(owner),
      payload: { action: 'stop', parameters: {} },
    });
    expect(stop.statusCode).toBe(202);
    await waitFor('stopped', async () => (await statusOf(instance.id)) === 'stopped', 60_000, 100);
    const resumed = await open(owner, running.id);
    const replayed = await waitFor(
      'the missed stop replayed',
      async () =>
        resumed.find(DOMAIN_EVENTS.instanceStatusChanged, (d) => ofInstance(d) && d.status === 'stopped')[0],
      5000,
      50,
    );
    expect(resumed.events[0]!.event).not.toBe('resync');
    expect(Number(resumed.events[0]!.id)).toBeGreaterThan(Number(running.id));
    expect(Number(replayed.id)).toBeGreaterThan(Number(running.id));
    expect(
      resumed.find(DOMAIN_EVENTS.instanceStatusChanged, (d) => ofInstance(d) && d.status === 'running'),
    ).toEqual([]);

    // An id the buffer no longer (or never) held: resync first.
    for (const stale of ['1', 'not-a-number', String(Number.MAX_SAFE_INTEGER)]) {
      const lost = await open(owner, stale);
      await waitFor(`resync for Last-Event-ID ${stale}`, async () => lost.events[0], 5000, 50);
      expect(lost.events[0]).toMatchObject({ event: 'resync' });
      await lost.close();
    }
  }, 150_000);

  it('delivers tenant events to members only (re-reading memberships), and every event to a platform admin', async () => {
    const email = uniqueEmail('sse-admin');
    const password = strongPassword();
    await stack.users.app.get(AdminAccountsService).createAdmin(email, { password });
    const admin = { ...(await loginCustomer(stack.users, email, password)), email, password } as TestCustomer;

    const mine = await open(owner);
    const theirs = await open(stranger);
    const everything = await open(admin);
    const publisher = stack.tenants.app.get(DomainEventPublisher);
    // Published the way tenant-service does: through the publisher, over Redis.
    publisher.publish(DOMAIN_EVENTS.tenantSuspended, { tenant_id: tenant.id, reason: 'test' });
    const ofTenant = (d: Record<string, unknown>) => d.tenant_id === tenant.id;
    await waitFor(
      'tenant.suspended for the member',
      async () => mine.find(DOMAIN_EVENTS.tenantSuspended, ofTenant)[0],
      5000,
      50,
    );
    await waitFor(
      'tenant.suspended for the admin',
      async () => everything.find(DOMAIN_EVENTS.tenantSuspended, ofTenant)[0],
      5000,
      50,
    );
    await sleep(300);
    expect(theirs.find(DOMAIN_EVENTS.tenantSuspended, ofTenant)).toEqual([]);

    // The stranger joins the tenant while the stream is open: the next event of it re-reads the memberships.
    await addMember(stack, owner, tenant, stranger, 'viewer');
    await sleep(2100);
    publisher.publish(DOMAIN_EVENTS.tenantActivated, { tenant_id: tenant.id, reason: 'test' });
    await waitFor(
      'tenant.activated for the new member',
      async () => theirs.find(DOMAIN_EVENTS.tenantActivated, ofTenant)[0],
      5000,
      50,
    );
  });

  it('frees every listener and timer when clients disconnect', async () => {
    for (const reader of readers) await reader.close();
    const hub = stack.instances.app.get(EventStreamHub);
    const streams = stack.instances.app.get(EventStreamService);
    await waitFor(
      'all streams closed',
      async () => hub.subscriberCount === 0 && streams.openStreams === 0,
      5000,
      50,
    );

    const many = await Promise.all(Array.from({ length: 20 }, () => open(owner)));
    await waitFor('20 streams open', async () => streams.openStreams === 20, 5000, 50);
    expect(hub.subscriberCount).toBe(20);
    const metrics = await stack.instances.request({ method: 'GET', url: '/metrics' });
    expect(metrics.body).toMatch(/^event_stream_connections(\{[^}]*\})? 20$/m);
    await Promise.all(many.map((reader) => reader.close()));
    await waitFor(
      'all 20 freed',
      async () => hub.subscriberCount === 0 && streams.openStreams === 0,
      5000,
      50,
    );
    const after = await stack.instances.request({ method: 'GET', url: '/metrics' });
    expect(after.body).toMatch(/^event_stream_connections(\{[^}]*\})? 0$/m);
    // A stream's duration is not request latency: it stays out of the latency histogram (and its p99 alert).
    expect(after.body).not.toMatch(
      /http_request_duration_seconds_count\{[^}]*events\/stream[^}]*status_code="200"/,
    );
    expect(after.body).toMatch(
      /http_request_duration_seconds_count\{[^}]*events\/stream[^}]*status_code="401"/,
    );
  });
});
