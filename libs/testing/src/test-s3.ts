import {
  CreateBucketCommand,
  HeadObjectCommand,
  PutObjectCommand,
  ListObjectsV2Command,
  S3Client,
  type HeadObjectCommandOutput,
} from '@aws-sdk/client-s3';

/**
 * The S3-compatible server the test bootstrap starts (scripts/bootstrap-deps.sh: s3rver on a fixed loopback
 * port, bucket `saasodoo-test-backups`, s3rver's fixed credentials). Each suite keeps its objects under a
 * prefix of its own.
 */
export const TEST_S3 = {
  endpoint: process.env.TEST_S3_ENDPOINT ?? `http://127.0.0.1:${process.env.TEST_S3_PORT ?? '4568'}`,
  bucket: 'saasodoo-test-backups',
  region: 'us-east-1',
  accessKeyId: 'S3RVER',
  secretAccessKey: 'S3RVER',
} as const;

/** The worker's BACKUP_S3_* for the test server (or `endpoint`, e.g. a proxy in front of it). */
export function testS3Env(prefix: string, endpoint: string = TEST_S3.endpoint): Record<string, string> {
  return {
    BACKUP_S3_ENDPOINT: endpoint,
    BACKUP_S3_BUCKET: TEST_S3.bucket,
    BACKUP_S3_REGION: TEST_S3.region,
    BACKUP_S3_ACCESS_KEY_ID: TEST_S3.accessKeyId,
    BACKUP_S3_SECRET_ACCESS_KEY: TEST_S3.secretAccessKey,
    BACKUP_S3_PREFIX: prefix,
    BACKUP_S3_FORCE_PATH_STYLE: 'true',
    BACKUP_S3_RETRY_SECONDS: '1',
  };
}

/** What a test reads straight from the bucket, past the code under test. */
export class TestS3Bucket {
  private readonly client = new S3Client({
    endpoint: TEST_S3.endpoint,
    region: TEST_S3.region,
    forcePathStyle: true,
    credentials: { accessKeyId: TEST_S3.accessKeyId, secretAccessKey: TEST_S3.secretAccessKey },
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });

  constructor() {
    // s3rver signs bucket-level paths without the trailing slash the SDK sends (`/bucket/`): only this
    // reading client drops it; object requests (what the worker sends) are signed identically by both.
    this.client.middlewareStack.add(
      (next) => async (args) => {
        const request = args.request as { path?: string };
        if (request.path && /^\/[^/]+\/$/.test(request.path)) request.path = request.path.slice(0, -1);
        return next(args);
      },
      { step: 'build', name: 's3rverBucketPath' },
    );
  }

  /** Makes the bucket when the server has none of that name (a server started by hand). */
  async ensure(): Promise<void> {
    await this.client.send(new CreateBucketCommand({ Bucket: TEST_S3.bucket })).catch((error: unknown) => {
      const name = (error as { name?: string }).name;
      if (name !== 'BucketAlreadyOwnedByYou' && name !== 'BucketAlreadyExists') throw error;
    });
  }

  /** Every object under `prefix`, with its size, sorted by key. */
  async list(prefix: string): Promise<{ key: string; size: number }[]> {
    const found: { key: string; size: number }[] = [];
    let token: string | undefined;
    do {
      const page = await this.client.send(
        new ListObjectsV2Command({ Bucket: TEST_S3.bucket, Prefix: prefix, ContinuationToken: token }),
      );
      for (const o of page.Contents ?? []) found.push({ key: o.Key ?? '', size: o.Size ?? -1 });
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
    return found.sort((a, b) => a.key.localeCompare(b.key));
  }

  async put(key: string, body: string): Promise<void> {
    await this.client.send(new PutObjectCommand({ Bucket: TEST_S3.bucket, Key: key, Body: body }));
  }

  async head(key: string): Promise<HeadObjectCommandOutput | null> {
    return this.client
      .send(new HeadObjectCommand({ Bucket: TEST_S3.bucket, Key: key }))
      .catch((error: unknown) => {
        if ((error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode === 404)
          return null;
        throw error;
      });
  }

  destroy(): void {
    this.client.destroy();
  }
}
