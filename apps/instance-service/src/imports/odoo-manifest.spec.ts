import { odooDumpManifestSchema, odooSeriesOf } from '@app/contracts';

const seriesOf = (manifest: unknown) => {
  const parsed = odooDumpManifestSchema.safeParse(manifest);
  return parsed.success ? odooSeriesOf(parsed.data) : 'invalid';
};

describe("the Odoo series of a backup's manifest.json (odoo/service/db.py dump_db_manifest)", () => {
  it('reads version_info first, then version', () => {
    expect(seriesOf({ version: '17.0', version_info: [17, 0, 0, 'final', 0, ''] })).toBe('17.0');
    expect(seriesOf({ version: '17.0+e', version_info: [17, 0, 0, 'final', 0, 'e'] })).toBe('17.0');
    expect(seriesOf({ version: '16.0' })).toBe('16.0');
    expect(seriesOf({ version_info: [18, 0, 0, 'final', 0, ''] })).toBe('18.0');
  });

  it('keeps a SaaS series apart from the stable one it follows', () => {
    expect(seriesOf({ version: 'saas~17.1', version_info: ['saas~17', 1, 0, 'final', 0, ''] })).toBe('17.1');
  });

  it('refuses a manifest without a readable version', () => {
    expect(seriesOf({ db_name: 'x' })).toBe('invalid');
    expect(seriesOf({ version: 'master' })).toBeNull();
    expect(seriesOf('17.0')).toBe('invalid');
  });
});
