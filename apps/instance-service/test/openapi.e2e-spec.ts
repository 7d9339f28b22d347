import { ServiceHarness, startService } from '@app/testing';
import { AppModule } from '../src/app.module';
import { instanceServiceEnv } from './support';

interface Operation {
  summary?: string;
  security?: Record<string, string[]>[];
  responses: Record<string, unknown>;
}

describe('instance-service OpenAPI document', () => {
  let harness: ServiceHarness;
  beforeAll(async () => {
    harness = await startService(AppModule, 'instance-service', instanceServiceEnv());
  });
  afterAll(() => harness?.close());

  it('documents every instance route with a summary, its responses and its credential', async () => {
    const res = await harness.request({ method: 'GET', url: '/docs/json' });
    expect(res.statusCode).toBe(200);
    const paths = res.json<{ paths: Record<string, Record<string, Operation>> }>().paths;
    const expected: [string, string, 'bearer' | 'internal-token'][] = [
      ['/api/v1/instances', 'post', 'bearer'],
      ['/api/v1/instances', 'get', 'bearer'],
      ['/api/v1/instances/check-subdomain/{subdomain}', 'get', 'bearer'],
      ['/api/v1/instances/{id}', 'get', 'bearer'],
      ['/api/v1/instances/{id}', 'put', 'bearer'],
      ['/api/v1/instances/{id}', 'delete', 'bearer'],
      ['/api/v1/instances/{id}/actions', 'post', 'bearer'],
      ['/api/v1/instances/{id}/status', 'get', 'bearer'],
      ['/api/v1/instances/{id}/events', 'get', 'bearer'],
      ['/api/v1/instances/{id}/backups', 'get', 'bearer'],
      ['/api/v1/instances/{id}/logs', 'get', 'bearer'],
      ['/internal/instances/{id}', 'get', 'internal-token'],
      ['/internal/instances/{id}/desired-state', 'put', 'internal-token'],
      ['/internal/instances/{id}/limits', 'put', 'internal-token'],
      ['/internal/tenants/{tenantId}/suspend', 'post', 'internal-token'],
      ['/internal/tenants/{tenantId}/resume', 'post', 'internal-token'],
      ['/internal/customers/{customerId}/instances/count', 'get', 'internal-token'],
      ['/internal/customers/{customerId}/instances', 'get', 'internal-token'],
      ['/internal/customers/{customerId}/instances/terminate', 'post', 'internal-token'],
      ['/internal/tenants/{tenantId}/instances/count', 'get', 'internal-token'],
    ];
    for (const [path, method, credential] of expected) {
      const operation = paths[path]?.[method];
      expect({ path, method, documented: Boolean(operation?.summary) }).toEqual({
        path,
        method,
        documented: true,
      });
      expect(operation?.security).toEqual([{ [credential]: [] }]);
      expect(Object.keys(operation?.responses ?? {}).some((status) => /^2/.test(status))).toBe(true);
    }
    const create = paths['/api/v1/instances']?.post as Operation & {
      requestBody: { content: { 'application/json': { schema: { $ref: string } } } };
    };
    expect(create.requestBody.content['application/json'].schema.$ref).toContain('CreateInstanceDto');
  });
});
