import type { Readable } from 'node:stream';
import { odooDumpManifestSchema, odooSeriesOf } from '@app/contracts';
import { eachZipEntry } from '@app/instance-data';
import { InvalidImportError } from './import-errors';

const MAX_MANIFEST_BYTES = 1024 * 1024;

async function readText(stream: Readable, limit: number): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of stream) {
    const buffer = chunk as Buffer;
    size += buffer.length;
    if (size > limit) throw new InvalidImportError('IMPORT_MANIFEST_INVALID', 'manifest.json is too large');
    chunks.push(buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}

function unsafe(name: string): boolean {
  return name.startsWith('/') || name.includes('\\') || name.split('/').some((part) => part === '..');
}

/**
 * Checks an uploaded file is an Odoo database-manager backup before anything is created: a zip with
 * `manifest.json` (Odoo's `dump_db_manifest`: `version` / `version_info`) and `dump.sql`, no path escaping
 * the archive, and the manifest's Odoo series equal to the instance's `odoo_version`. Returns the series.
 */
export async function validateOdooArchive(path: string, odooVersion: string): Promise<string> {
  let manifestText: string | null = null;
  let hasDump = false;
  try {
    await eachZipEntry(path, async (name, entry, content) => {
      if (unsafe(name)) {
        throw new InvalidImportError(
          'IMPORT_ARCHIVE_UNSAFE',
          `The archive has an unsafe path: ${name.slice(0, 200)}`,
        );
      }
      if (name === 'manifest.json') {
        if (entry.uncompressedSize > MAX_MANIFEST_BYTES)
          throw new InvalidImportError('IMPORT_MANIFEST_INVALID', 'manifest.json is too large');
        manifestText = await readText(await content(), MAX_MANIFEST_BYTES);
      } else if (name === 'dump.sql') {
        hasDump = true;
      }
    });
  } catch (error) {
    if (error instanceof InvalidImportError) throw error;
    const reason = error instanceof Error ? error.message : String(error);
    // yauzl refuses entry names that would escape the directory they are extracted to.
    if (/^(invalid relative path|absolute path|invalid characters in fileName)/.test(reason)) {
      throw new InvalidImportError(
        'IMPORT_ARCHIVE_UNSAFE',
        `The archive has an unsafe path (${reason.slice(0, 200)})`,
      );
    }
    throw new InvalidImportError('IMPORT_NOT_A_ZIP', `The file is not a readable zip archive (${reason})`);
  }
  if (manifestText === null) {
    throw new InvalidImportError(
      'IMPORT_MANIFEST_MISSING',
      'The archive has no manifest.json (not an Odoo backup)',
    );
  }
  let json: unknown;
  try {
    json = JSON.parse(manifestText);
  } catch {
    throw new InvalidImportError('IMPORT_MANIFEST_INVALID', 'manifest.json is not valid JSON');
  }
  const parsed = odooDumpManifestSchema.safeParse(json);
  const series = parsed.success ? odooSeriesOf(parsed.data) : null;
  if (!parsed.success || !series) {
    const reason = parsed.success ? 'its version cannot be read' : parsed.error.issues[0]?.message;
    throw new InvalidImportError(
      'IMPORT_MANIFEST_INVALID',
      `manifest.json is not an Odoo manifest: ${reason}`,
    );
  }
  if (!hasDump) throw new InvalidImportError('IMPORT_DUMP_MISSING', 'The archive has no dump.sql');
  if (series !== odooVersion) {
    throw new InvalidImportError(
      'IMPORT_VERSION_MISMATCH',
      `The backup is of Odoo ${series}, the instance would run ${odooVersion}: they must match`,
    );
  }
  return series;
}
