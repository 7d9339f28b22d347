/**
 * JSON nesting is bounded on every service: a body nested deeper than 32 levels is a 400 VALIDATION_FAILED
 * in the error envelope (never a 500), whatever the route, before authentication or validation look at it.
 */
import { Type } from '@nestjs/common';
import { ServiceName } from '@app/database';
import { jsonDepthExceeds, MAX_JSON_DEPTH } from '@app/http';
import { serviceTestEnv, ServiceHarness, startService } from '@app/testing';
import { AppModule as BillingModule } from '../../apps/billing-service/src/app.module';
import { AppModule as InstanceModule } from '../../apps/instance-service/src/app.module';
import { AppModule as TenantModule } from '../../apps/tenant-service/src/app.module';
import { AppModule as UserModule } from '../../apps/user-service/src/app.module';

/** `{"<key>": [[[ ... ]]]}` with `depth` levels in all (the outer object counts as one). */
function nested(key: string, depth: number): string {
  return `{"${key}":${'['.repeat(depth - 1)}${']'.repeat(depth - 1)}}`;
}

const services: [ServiceName, Type, string, string][] = [
  ['user-service', UserModule, '/auth/login', 'email'],
  ['tenant-service', TenantModule, '/api/v1/tenants', 'name'],
  ['instance-service', InstanceModule, '/api/v1/instances/', 'metadata'],
  ['billing-service', BillingModule, '/api/billing/subscriptions', 'plan_name'],
];

describe('the depth check', () => {
  it('counts brackets outside strings only', () => {
    expect(jsonDepthExceeds(nested('a', 32), 32)).toBe(false);
    expect(jsonDepthExceeds(nested('a', 33), 32)).toBe(true);
    expect(jsonDepthExceeds(`{"a":"${'['.repeat(100)}"}`, 32)).toBe(false);
    expect(jsonDepthExceeds(`{"a\\"${'{'.repeat(40)}":1}`, 32)).toBe(false);
    expect(jsonDepthExceeds('{}'.repeat(1000), 1)).toBe(false);
  });
});

describe.each(services)('%s: JSON nesting', (service, module, url, key) => {
  let harness: ServiceHarness;
  beforeAll(async () => {
    harness = await startService(module, service, serviceTestEnv(service));
  });
  afterAll(() => harness?.close());

  const post = (payload: string) =>
    harness.request({
      method: 'POST',
      url,
      headers: { 'content-type': 'application/json', 'x-request-id': 'json-depth-0001' },
      payload,
    });

  it.each([MAX_JSON_DEPTH + 1, 1000, 400_000])(
    'refuses %i levels with 400 VALIDATION_FAILED',
    async (depth) => {
      const res = await post(nested(key, depth));
      expect(res.statusCode).toBe(400);
      expect(res.json()).toEqual({
        statusCode: 400,
        error: 'Bad Request',
        code: 'VALIDATION_FAILED',
        message: `JSON must not be nested deeper than ${MAX_JSON_DEPTH} levels`,
        details: [{ field: 'body', problems: [expect.any(String)] }],
        request_id: 'json-depth-0001',
      });
    },
  );

  it(`lets ${MAX_JSON_DEPTH} levels through to the route (no depth error)`, async () => {
    const res = await post(nested(key, MAX_JSON_DEPTH));
    expect(res.statusCode).toBeLessThan(500);
    expect(res.json<{ message?: string }>().message ?? '').not.toContain('nested deeper');
  });
});
