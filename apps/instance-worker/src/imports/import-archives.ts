import { Inject, Injectable } from '@nestjs/common';
import { createWriteStream } from 'node:fs';
import { mkdir, rename, rm, stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { APP_CONFIG } from '@app/config';
import type { Config } from '../config/env';

/**
 * The Odoo zips new instances are made from, on the worker's disk: `BACKUP_DIR/imports/<instance id>.zip`.
 * Written under a `.part` name and renamed once complete, so a crash mid-transfer never leaves a file that
 * looks whole. Deleted once the instance is provisioned from it, when its provisioning fails for good, or
 * when the instance is purged.
 */
@Injectable()
export class ImportArchives {
  constructor(@Inject(APP_CONFIG) private readonly config: Config) {}

  dir(): string {
    return resolve(this.config.BACKUP_DIR, 'imports');
  }

  path(instanceId: string): string {
    return resolve(this.dir(), `${instanceId}.zip`);
  }

  async exists(instanceId: string): Promise<boolean> {
    return stat(this.path(instanceId)).then(
      (s) => s.isFile(),
      () => false,
    );
  }

  /** Streams `body` to the instance's archive; returns its size. A failed write leaves nothing. */
  async write(instanceId: string, body: Readable): Promise<number> {
    await mkdir(this.dir(), { recursive: true });
    const part = `${this.path(instanceId)}.part`;
    try {
      await pipeline(body, createWriteStream(part, { mode: 0o600 }));
      await rename(part, this.path(instanceId));
    } catch (error) {
      await rm(part, { force: true });
      throw error;
    }
    return (await stat(this.path(instanceId))).size;
  }

  async discard(instanceId: string): Promise<void> {
    await rm(this.path(instanceId), { force: true });
    await rm(`${this.path(instanceId)}.part`, { force: true });
  }
}
