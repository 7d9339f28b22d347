import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { z } from 'zod';
import { ConfigValidationError, loadConfig } from './load-config';

const schema = z.object({ DB_PASSWORD: z.string().min(8), PORT: z.coerce.number().default(5000) });

describe('loadConfig with *_FILE variables (Docker secrets)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'config-file-'));
  const secret = join(dir, 'db_password');
  writeFileSync(secret, 's3cret-from-file\n');

  it('reads NAME from the file NAME_FILE names, without the trailing newline', () => {
    expect(loadConfig(schema, { DB_PASSWORD_FILE: secret })).toEqual({
      DB_PASSWORD: 's3cret-from-file',
      PORT: 5000,
    });
  });

  it('refuses both NAME and NAME_FILE, and a file it cannot read, naming the variable', () => {
    expect(() => loadConfig(schema, { DB_PASSWORD: 'inline-secret', DB_PASSWORD_FILE: secret })).toThrow(
      /DB_PASSWORD_FILE: DB_PASSWORD is set too/,
    );
    expect(() => loadConfig(schema, { DB_PASSWORD_FILE: join(dir, 'missing') })).toThrow(
      ConfigValidationError,
    );
    expect(() => loadConfig(schema, { DB_PASSWORD_FILE: join(dir, 'missing') })).toThrow(/ENOENT/);
  });

  it('leaves other *_FILE variables (paths of their own) alone', () => {
    const withCatalog = z.object({ CATALOG_FILE: z.string() });
    expect(loadConfig(withCatalog, { CATALOG_FILE: 'relative/catalog.xml' })).toEqual({
      CATALOG_FILE: 'relative/catalog.xml',
    });
  });

  it('still validates what the file held', () => {
    const short = join(dir, 'short');
    writeFileSync(short, 'abc');
    expect(() => loadConfig(schema, { DB_PASSWORD_FILE: short })).toThrow(/DB_PASSWORD/);
  });
});
