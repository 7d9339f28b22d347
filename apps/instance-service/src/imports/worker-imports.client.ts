import { Inject, Injectable } from '@nestjs/common';
import { createReadStream } from 'node:fs';
import { request } from 'undici';
import { APP_CONFIG } from '@app/config';
import { IMPORT_UPLOAD_HEADERS } from '@app/contracts';
import { DependencyUnavailableError } from '@app/http';
import { backupDownloadSecret, signImportUpload } from '@app/instance-data';
import type { Config } from '../config/env';
import { ImportsDisabledError } from './import-errors';

const SIGNATURE_TTL_SECONDS = 3600;

/**
 * The worker's import endpoint (INSTANCE_WORKER_URL, not routed by Traefik): the validated archive is streamed
 * there before the instance is recorded, since the worker provisions from it and shares no disk with us.
 */
@Injectable()
export class WorkerImportsClient {
  constructor(@Inject(APP_CONFIG) private readonly config: Config) {}

  /** 503 IMPORTS_DISABLED while the key shared with the worker is not configured. */
  assertEnabled(): void {
    if (!backupDownloadSecret(this.config)) throw new ImportsDisabledError();
  }

  async upload(instanceId: string, path: string): Promise<void> {
    await this.call('PUT', instanceId, path, 200);
  }

  async drop(instanceId: string): Promise<void> {
    await this.call('DELETE', instanceId, null, 204);
  }

  private async call(method: 'PUT' | 'DELETE', instanceId: string, path: string | null, expected: number) {
    const secret = backupDownloadSecret(this.config);
    if (!secret) throw new ImportsDisabledError();
    const expires = Math.floor(Date.now() / 1000) + SIGNATURE_TTL_SECONDS;
    const headers: Record<string, string> = {
      [IMPORT_UPLOAD_HEADERS.expires]: String(expires),
      [IMPORT_UPLOAD_HEADERS.signature]: signImportUpload(secret, instanceId, expires),
    };
    if (path) headers['content-type'] = 'application/zip';
    let status: number;
    let text: string;
    try {
      const response = await request(`${this.config.INSTANCE_WORKER_URL}/imports/${instanceId}`, {
        method,
        headers,
        body: path ? createReadStream(path) : undefined,
      });
      status = response.statusCode;
      text = await response.body.text();
    } catch (error) {
      throw new DependencyUnavailableError(
        'instance-worker',
        `The worker could not be reached to take the archive (${error instanceof Error ? error.message : String(error)})`,
      );
    }
    if (status !== expected) {
      throw new DependencyUnavailableError(
        'instance-worker',
        `The worker did not take the archive (${status}: ${text.slice(0, 200)})`,
      );
    }
  }
}
