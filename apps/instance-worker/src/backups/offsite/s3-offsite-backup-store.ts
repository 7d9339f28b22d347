import {
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  NotFound,
  S3Client,
  S3ServiceException,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { PassThrough, Readable } from 'node:stream';
import type { OffsiteBackupEnv } from './offsite-backup-env';
import {
  OffsiteStoreUnavailableError,
  type OffsiteBackupStore,
  type OffsiteObjectInfo,
} from './offsite-backup-store';

/** 8 MiB parts, two in flight: an upload holds at most ~16 MiB whatever the backup's size. */
const PART_SIZE = 8 * 1024 * 1024;
const QUEUE_SIZE = 2;

/** Any S3-compatible store through the AWS SDK v3 (`@aws-sdk/client-s3`, multipart by `@aws-sdk/lib-storage`). */
export class S3OffsiteBackupStore implements OffsiteBackupStore {
  readonly location = 's3' as const;
  private readonly client: S3Client;
  private readonly bucket: string;

  constructor(env: OffsiteBackupEnv) {
    this.bucket = env.BACKUP_S3_BUCKET;
    this.client = new S3Client({
      region: env.BACKUP_S3_REGION,
      ...(env.BACKUP_S3_ENDPOINT ? { endpoint: env.BACKUP_S3_ENDPOINT } : {}),
      forcePathStyle: env.BACKUP_S3_FORCE_PATH_STYLE,
      ...(env.BACKUP_S3_ACCESS_KEY_ID
        ? {
            credentials: {
              accessKeyId: env.BACKUP_S3_ACCESS_KEY_ID,
              secretAccessKey: env.BACKUP_S3_SECRET_ACCESS_KEY,
            },
          }
        : {}),
      // Checksums only where the API requires them: the SDK's newer default (CRC32 on every upload) is
      // refused by several S3-compatible stores. Integrity is ours anyway: sha256 in metadata, checked by head.
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
      maxAttempts: 3,
      // A store that stops answering mid-request fails the attempt instead of holding the copy forever.
      requestHandler: { connectionTimeout: 10_000, requestTimeout: 120_000 },
    });
  }

  async put(key: string, body: Readable, sha256: string, signal?: AbortSignal): Promise<void> {
    const upload = new Upload({
      client: this.client,
      params: { Bucket: this.bucket, Key: key, Body: body, Metadata: { sha256 } },
      partSize: PART_SIZE,
      queueSize: QUEUE_SIZE,
      leavePartsOnError: false,
    });
    // Stopping (shutdown, lost lease) cancels the requests in flight too, not only the reading.
    const abort = () => void upload.abort().catch(() => undefined);
    signal?.addEventListener('abort', abort, { once: true });
    try {
      await upload.done();
    } finally {
      signal?.removeEventListener('abort', abort);
    }
  }

  async head(key: string): Promise<OffsiteObjectInfo | null> {
    try {
      const head = await this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: key }));
      return { size: head.ContentLength ?? -1, sha256: head.Metadata?.sha256 ?? null };
    } catch (error) {
      if (error instanceof NotFound) return null;
      if (error instanceof S3ServiceException && error.$metadata.httpStatusCode === 404) return null;
      throw error;
    }
  }

  async get(key: string): Promise<Readable> {
    const where = `s3://${this.bucket}/${key}`;
    let answer;
    try {
      answer = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: key }));
    } catch (error) {
      throw storeAnswered(error) ? error : unavailable(where, error);
    }
    if (!(answer.Body instanceof Readable)) throw new Error(`${where}: no body`);
    const body = answer.Body;
    // A body cut off mid-way (connection reset, store gone) says nothing about the object either.
    const checked = new PassThrough();
    body.on('error', (error) => checked.destroy(unavailable(where, error)));
    checked.on('close', () => body.destroy());
    return body.pipe(checked);
  }

  async delete(key: string): Promise<void> {
    await this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: key }));
  }

  destroy(): void {
    this.client.destroy();
  }
}

/**
 * True when the store itself answered about the request (4xx: no such key, access refused, bad request): a
 * fact about the object or our credentials. Everything else (no answer, a timeout, 408, 429 or a 5xx after the
 * SDK's own retries) means the store is not usable now.
 */
function storeAnswered(error: unknown): boolean {
  if (!(error instanceof S3ServiceException)) return false;
  const status = error.$metadata?.httpStatusCode;
  return status !== undefined && status >= 400 && status < 500 && status !== 408 && status !== 429;
}

function unavailable(where: string, error: unknown): OffsiteStoreUnavailableError {
  const reason = error instanceof Error ? error.message || error.name : String(error);
  return new OffsiteStoreUnavailableError(`${where}: the store is unreachable (${reason})`, { cause: error });
}
