import type { Readable } from 'node:stream';
import yauzl, { type Entry, type ZipFile } from 'yauzl';

function open(path: string): Promise<ZipFile> {
  return new Promise((resolve, reject) =>
    yauzl.open(path, { lazyEntries: true, autoClose: false, strictFileNames: false }, (error, zip) =>
      error ? reject(error) : resolve(zip),
    ),
  );
}

function openEntry(zip: ZipFile, entry: Entry): Promise<Readable> {
  return new Promise((resolve, reject) =>
    zip.openReadStream(entry, (error, stream) => (error ? reject(error) : resolve(stream))),
  );
}

/**
 * Visits the entries of the zip at `path` one at a time, in archive order; `visit` gets a stream of an
 * entry's content (opened on demand, never buffered) and the next entry is read once it resolves.
 */
export async function eachZipEntry(
  path: string,
  visit: (name: string, entry: Entry, content: () => Promise<Readable>) => Promise<void>,
): Promise<void> {
  const zip = await open(path);
  try {
    await new Promise<void>((resolve, reject) => {
      zip.on('error', reject);
      zip.on('end', () => resolve());
      zip.on('entry', (entry: Entry) => {
        visit(entry.fileName, entry, () => openEntry(zip, entry)).then(
          () => zip.readEntry(),
          (error: unknown) => reject(error instanceof Error ? error : new Error(String(error))),
        );
      });
      zip.readEntry();
    });
  } finally {
    zip.close();
  }
}
