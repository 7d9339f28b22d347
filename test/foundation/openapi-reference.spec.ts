import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { OpenAPIObject } from '@nestjs/swagger';
import {
  generateOpenApiDocuments,
  OpenApiDocuments,
  operations,
  serialise,
} from '../../scripts/openapi/documents';

const root = join(__dirname, '..', '..');

describe('the OpenAPI reference', () => {
  let generated: OpenApiDocuments;
  beforeAll(async () => {
    generated = await generateOpenApiDocuments();
  });

  it.each([
    ['docs/openapi.json', () => generated.publicDocument],
    ['docs/openapi.internal.json', () => generated.internalDocument],
  ])('%s is what the code generates (run npm run docs:openapi)', (file, document: () => OpenAPIObject) => {
    expect(readFileSync(join(root, file), 'utf8') === serialise(document())).toBe(true);
  });

  it('documents a 2xx answer and a credential for every operation of every service', () => {
    const gaps = generated.services.flatMap(({ entry, document }) =>
      operations(document)
        .filter(({ operation }) => {
          const ok = Object.entries(operation.responses).some(
            ([status, r]) => /^2/.test(status) && (status === '204' || (r !== undefined && 'content' in r)),
          );
          return !ok || !operation.summary || operation.security === undefined;
        })
        .map(({ path, method }) => `${entry.service} ${method.toUpperCase()} ${path}`),
    );
    expect(gaps).toEqual([]);
  });

  it('keeps internal and metrics routes out of the public document, under the Traefik prefixes', () => {
    const paths = Object.keys(generated.publicDocument.paths);
    expect(paths.filter((p) => /\/internal\/|\/metrics/.test(p))).toEqual([]);
    expect(paths.filter((p) => !/^\/(user|tenant|instance|billing)\//.test(p))).toEqual([]);
    expect(paths).toContain('/billing/api/billing/webhooks/killbill');
    expect(Object.keys(generated.internalDocument.paths).every((p) => p.startsWith('/internal/'))).toBe(true);
  });
});
