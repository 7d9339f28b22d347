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
  get(key: string): Promise<Readable>;
  /** Idempotent: deleting a missing object is not an error. */
  delete(key: string): Promise<void>;
}

export const OFFSITE_BACKUP_STORE = Symbol('OFFSITE_BACKUP_STORE');
