import type { Readable } from 'node:stream';

/** What the store says of one object. */
export interface OffsiteObjectInfo {
  size: number;
  /** The sha256 the uploader stored with the object (metadata), null when it has none. */
  sha256: string | null;
}

/**
 * The off-host store of backup copies, as the backup code sees it: put a stream under a key, look at it,
 * read it back, delete it. One implementation per kind of store, chosen once at boot
 * (`offsiteBackupStoreProvider`); the lifecycle code never knows which.
 */
export interface OffsiteBackupStore {
  /** Shown in backup listings (`locations`). */
  readonly location: 's3';
  /**
   * Streams `body` to `key` (never held whole in memory), with `sha256` kept in the object's metadata. An
   * upload that fails leaves no object under `key` it did not have before (multipart is aborted, or simply
   * never completed when the process dies: an unfinished multipart upload is not an object).
   */
  put(key: string, body: Readable, sha256: string, signal?: AbortSignal): Promise<void>;
  /** null when there is no such object. */
  head(key: string): Promise<OffsiteObjectInfo | null>;
  /**
   * The object's bytes. Throws OffsiteStoreUnavailableError when the store cannot be reached or fails on its
   * side (network, timeout, 5xx), whether before the body or while it streams; any other error (no such object,
   * access refused) is an answer about the object itself.
   */
  get(key: string): Promise<Readable>;
  /** Idempotent: deleting a missing object is not an error. */
  delete(key: string): Promise<void>;
}

/**
 * The store could not be reached or failed on its side: nothing is known about the copy, which may be fine. Whoever
 * needs it waits and tries again (a job defers, a download answers 503) rather than call the backup corrupt.
 */
export class OffsiteStoreUnavailableError extends Error {
  override readonly name = 'OffsiteStoreUnavailableError';
}

export const OFFSITE_BACKUP_STORE = Symbol('OFFSITE_BACKUP_STORE');
