import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ServiceHarness, SmtpSink } from '@app/testing';
import { startUserService } from './support';

describe('user-service: the merged public API reference', () => {
  const smtp = new SmtpSink();
  let users: ServiceHarness;
  beforeAll(async () => {
    await smtp.start();
    users = await startUserService(smtp);
  });
  afterAll(async () => {
    await users?.close();
    await smtp.stop();
  });

  it('serves docs/openapi.json at /reference/docs/json (api.<BASE_DOMAIN>/docs/json through Traefik)', async () => {
    const committed: unknown = JSON.parse(
      readFileSync(join(__dirname, '../../../docs/openapi.json'), 'utf8'),
    );
    const res = await users.request({ method: 'GET', url: '/reference/docs/json' });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual(committed);
  });

  it('serves the UI at /reference/docs with relative asset links (they resolve under /docs/ on the API host)', async () => {
    const res = await users.request({ method: 'GET', url: '/reference/docs' });
    expect(res.statusCode).toBe(200);
    expect(res.body).toContain('./docs/swagger-ui-bundle.js');
    const asset = await users.request({ method: 'GET', url: '/reference/docs/swagger-ui-bundle.js' });
    expect(asset.statusCode).toBe(200);
  });

  it('still serves its own document, with its internal routes, at /docs/json', async () => {
    const res = await users.request({ method: 'GET', url: '/docs/json' });
    expect(Object.keys(res.json<{ paths: object }>().paths)).toContain('/internal/users/{id}');
  });
});
