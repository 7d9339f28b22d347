import { Type } from '@nestjs/common';
import { ServiceName } from '@app/database';
import { serviceTestEnv, startService, ServiceHarness, TcpProxy } from '@app/testing';
import { AppModule as BillingModule } from '../../apps/billing-service/src/app.module';
import { AppModule as InstanceModule } from '../../apps/instance-service/src/app.module';
import { AppModule as WorkerModule } from '../../apps/instance-worker/src/app.module';
import { AppModule as TenantModule } from '../../apps/tenant-service/src/app.module';
import { AppModule as UserModule } from '../../apps/user-service/src/app.module';

const services: [ServiceName, Type][] = [
  ['user-service', UserModule],
  ['tenant-service', TenantModule],
  ['instance-service', InstanceModule],
  ['billing-service', BillingModule],
];

describe.each(services)('%s foundation endpoints', (service, module) => {
  let harness: ServiceHarness;
  beforeAll(async () => {
    harness = await startService(module, service, serviceTestEnv(service));
  });
  afterAll(() => harness.close());

  it('answers liveness without touching dependencies', async () => {
    const res = await harness.request({ method: 'GET', url: '/health' });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ status: 'healthy', service });
  });

  it('runs a real query for /health/database', async () => {
    const res = await harness.request({ method: 'GET', url: '/health/database' });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({
      status: 'healthy',
      database: 'connected',
      database_name: expect.stringMatching(/_test$/),
    });
  });

  it('checks every dependency for /health/ready', async () => {
    const res = await harness.request({ method: 'GET', url: '/health/ready' });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({
      status: 'ready',
      checks: { database: { status: 'up' }, redis: { status: 'up' } },
    });
  });

  it('serves Prometheus metrics with the request histogram labelled by route and status', async () => {
    await harness.request({ method: 'GET', url: '/health' });
    const res = await harness.request({ method: 'GET', url: '/metrics' });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toContain('text/plain');
    expect(res.body).toContain('process_cpu_user_seconds_total');
    expect(res.body).toMatch(
      /http_request_duration_seconds_count\{[^}]*route="\/health"[^}]*status_code="200"/,
    );
  });

  it('serves the OpenAPI document', async () => {
    const res = await harness.request({ method: 'GET', url: '/docs/json' });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ openapi: expect.stringMatching(/^3\./), info: { title: service } });
    expect((await harness.request({ method: 'GET', url: '/docs' })).statusCode).toBe(200);
  });

  it('answers unknown routes with the error envelope and echoes the request id', async () => {
    const res = await harness.request({
      method: 'GET',
      url: '/nope',
      headers: { 'x-request-id': 'test-request-0001' },
    });
    expect(res.statusCode).toBe(404);
    expect(res.headers['x-request-id']).toBe('test-request-0001');
    expect(res.json()).toEqual({
      statusCode: 404,
      error: 'Not Found',
      code: 'NOT_FOUND',
      message: 'Route not found',
      details: [],
      request_id: 'test-request-0001',
    });
  });

  it('makes up a request id when none (or a malformed one) is given', async () => {
    const res = await harness.request({
      method: 'GET',
      url: '/nope',
      headers: { 'x-request-id': 'bad id\n' },
    });
    expect(res.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
    expect(res.json().request_id).toBe(res.headers['x-request-id']);
  });
});

describe('database outage', () => {
  const proxy = new TcpProxy(
    process.env.POSTGRES_HOST ?? '127.0.0.1',
    Number(process.env.POSTGRES_PORT ?? 5432),
  );
  let harness: ServiceHarness;

  beforeAll(async () => {
    const port = await proxy.start();
    harness = await startService(
      UserModule,
      'user-service',
      serviceTestEnv('user-service', {
        POSTGRES_HOST: '127.0.0.1',
        POSTGRES_PORT: String(port),
        DB_CONNECT_TIMEOUT_MS: '1000',
      }),
    );
  });
  afterAll(async () => {
    await harness.close();
    await proxy.stop();
  });

  it('turns /health/database to 503 without crashing, and recovers when Postgres is back', async () => {
    expect((await harness.request({ method: 'GET', url: '/health/database' })).statusCode).toBe(200);

    await proxy.stop();
    const down = await harness.request({ method: 'GET', url: '/health/database' });
    expect(down.statusCode).toBe(503);
    expect(down.json()).toMatchObject({
      status: 'unhealthy',
      database: 'disconnected',
      error: expect.any(String),
    });
    const ready = await harness.request({ method: 'GET', url: '/health/ready' });
    expect(ready.statusCode).toBe(503);
    expect(ready.json()).toMatchObject({
      status: 'not_ready',
      checks: { database: { status: 'down' }, redis: { status: 'up' } },
    });
    expect((await harness.request({ method: 'GET', url: '/health' })).statusCode).toBe(200);

    await proxy.start();
    const back = await harness.request({ method: 'GET', url: '/health/database' });
    expect(back.statusCode).toBe(200);
  });
});

describe('instance-worker health server', () => {
  let harness: ServiceHarness;
  beforeAll(async () => {
    harness = await startService(WorkerModule, 'instance-worker', serviceTestEnv('instance-worker'));
  });
  afterAll(() => harness.close());

  it('is ready only with Postgres, Redis and the Docker engine', async () => {
    const res = await harness.request({ method: 'GET', url: '/health/ready' });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({
      status: 'ready',
      service: 'instance-worker',
      checks: {
        database: { status: 'up' },
        redis: { status: 'up' },
        docker: { status: 'up', server_version: expect.any(String) },
      },
    });
  });

  it('reports Docker down when the engine cannot be reached', async () => {
    const broken = await startService(
      WorkerModule,
      'instance-worker',
      serviceTestEnv('instance-worker', { DOCKER_HOST: 'unix:///nonexistent/docker.sock' }),
    );
    try {
      const res = await broken.request({ method: 'GET', url: '/health/ready' });
      expect(res.statusCode).toBe(503);
      expect(res.json()).toMatchObject({
        checks: { docker: { status: 'down' }, database: { status: 'up' } },
      });
    } finally {
      await broken.close();
    }
  });
});
