import Busboy from '@fastify/busboy';
import type { IncomingHttpHeaders, IncomingMessage } from 'node:http';
import { createWriteStream } from 'node:fs';
import { rm } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import { ValidationFailedError } from '@app/http';
import { ImportTooLargeError, InvalidImportError } from './import-errors';

export interface ImportFilePart {
  /** The form fields that came before the file part. */
  fields: Record<string, string>;
  filename: string | null;
  /** Writes the part to `path`, at most `maxBytes` (413 and no file beyond); returns the size. */
  saveTo(path: string, maxBytes: number): Promise<number>;
}

const MAX_FIELDS = 40;
const MAX_FIELD_BYTES = 64 * 1024;

/**
 * Reads a multipart/form-data import with busboy, streaming: the form fields first, then the `file` part,
 * which is handed to `handle` while it is still arriving (it is written to disk by `saveTo`, never held in
 * memory). Whatever `handle` does not read is drained, so the answer always follows a fully read request.
 * `hardMaxBytes` bounds what busboy passes on at all.
 */
export function readImportUpload<T>(
  request: IncomingMessage,
  headers: IncomingHttpHeaders,
  hardMaxBytes: number,
  handle: (part: ImportFilePart) => Promise<T>,
): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    let parser: ReturnType<typeof Busboy>;
    try {
      parser = Busboy({
        headers: { ...headers, 'content-type': headers['content-type'] ?? '' },
        limits: {
          files: 1,
          fields: MAX_FIELDS,
          fieldSize: MAX_FIELD_BYTES,
          parts: MAX_FIELDS + 1,
          fileSize: hardMaxBytes,
        },
      });
    } catch {
      request.resume();
      reject(
        new ValidationFailedError('Expected a multipart/form-data body: the fields, then the "file" part'),
      );
      return;
    }
    const fields: Record<string, string> = {};
    let outcome: Promise<T> | null = null;
    let problem: Error | null = null;
    let file: Readable | null = null;
    // A client that goes away mid-upload: the part being written fails (its partial file is deleted, the
    // creation undone), instead of waiting for bytes that never come.
    request.once('close', () => {
      if (request.complete) return;
      const aborted = new ValidationFailedError('The upload was aborted before it was complete');
      file?.destroy(aborted);
      reject(aborted);
    });
    parser.on('field', (name, value, _nameTruncated, valueTruncated) => {
      // A field after the file part comes too late for the creation, which starts with the file: ignored.
      if (outcome) return;
      if (valueTruncated) problem ??= new ValidationFailedError(`Field ${name} is too long`);
      else fields[name] = value;
    });
    parser.on('file', (name, stream, filename) => {
      if (outcome || problem || name !== 'file') {
        problem ??= new ValidationFailedError(`Unexpected file part "${name}": send one part named "file"`);
        stream.resume();
        return;
      }
      file = stream;
      const part: ImportFilePart = {
        fields: { ...fields },
        filename: filename || null,
        saveTo: (path, maxBytes) => saveStream(stream, path, maxBytes),
      };
      outcome = handle(part).finally(() => stream.resume());
      outcome.catch(() => undefined);
    });
    parser.on('error', (error: unknown) => {
      request.unpipe(parser);
      request.resume();
      const malformed = new ValidationFailedError(
        `Malformed multipart body: ${error instanceof Error ? error.message : String(error)}`,
      );
      file?.destroy(malformed);
      reject(malformed);
    });
    parser.on('finish', () => {
      if (!outcome) {
        reject(
          problem ?? new InvalidImportError('IMPORT_FILE_MISSING', 'No "file" part with the Odoo backup zip'),
        );
        return;
      }
      outcome.then(resolve, reject);
    });
    request.pipe(parser);
  });
}

/** The part to disk, counting: beyond `maxBytes` the partial file is deleted and the rest discarded. */
async function saveStream(stream: Readable, path: string, maxBytes: number): Promise<number> {
  if (stream.destroyed) throw stream.errored ?? new ValidationFailedError('The upload ended early');
  const sink = createWriteStream(path, { mode: 0o600 });
  let bytes = 0;
  try {
    await new Promise<void>((resolve, reject) => {
      const onData = (chunk: Buffer) => {
        bytes += chunk.length;
        if (bytes > maxBytes) {
          stream.off('data', onData);
          stream.resume();
          sink.destroy();
          reject(new ImportTooLargeError(maxBytes));
          return;
        }
        if (!sink.write(chunk)) {
          stream.pause();
          sink.once('drain', () => stream.resume());
        }
      };
      stream.on('data', onData);
      stream.once('end', () => sink.end());
      stream.once('error', reject);
      sink.once('finish', resolve);
      sink.once('error', reject);
    });
  } catch (error) {
    sink.destroy();
    await rm(path, { force: true });
    throw error;
  }
  return bytes;
}
