/**
 * npm run docs:openapi — builds every service's OpenAPI document from its AppModule (no database needed),
 * writes the merged public document to docs/openapi.json and the internal one to docs/openapi.internal.json,
 * and prints how many operations document their answers. `-- --check` writes nothing and fails when the
 * committed files differ from what the code generates.
 */
import './openapi/quiet';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { coverage, generateOpenApiDocuments, serialise } from './openapi/documents';

const DOCS = join(__dirname, '..', 'docs');

async function main(): Promise<number> {
  const check = process.argv.includes('--check');
  const { services, publicDocument, internalDocument } = await generateOpenApiDocuments();
  const rows = services.map(({ entry, document }) => {
    const c = coverage(document);
    return `| ${entry.service} | ${c.operations} | ${c.json2xx} | ${c.empty2xx} | ${c.errors} |`;
  });
  process.stdout.write(
    [
      '| Service | Operations | With a documented 2xx JSON response | With a documented 2xx without body | With documented errors |',
      '|---|---|---|---|---|',
      ...rows,
      '',
    ].join('\n'),
  );
  const files: [string, string][] = [
    [join(DOCS, 'openapi.json'), serialise(publicDocument)],
    [join(DOCS, 'openapi.internal.json'), serialise(internalDocument)],
  ];
  if (check) {
    const stale = files.filter(([file, text]) => !existsSync(file) || readFileSync(file, 'utf8') !== text);
    for (const [file] of stale) process.stderr.write(`${file} is out of date: run npm run docs:openapi\n`);
    return stale.length === 0 ? 0 : 1;
  }
  mkdirSync(DOCS, { recursive: true });
  for (const [file, text] of files) {
    writeFileSync(file, text);
    process.stdout.write(`wrote ${file}\n`);
  }
  return 0;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(
      `docs:openapi: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
    );
    process.exit(1);
  },
);
