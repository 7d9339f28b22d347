import { Injectable, Logger, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { InstancesRepository } from '@app/instance-data';
import { ImportArchives } from './import-archives';

const SWEEP_INTERVAL_MS = 10 * 60_000;
/** Older than this and no instance row: instance-service died between the upload and the row. */
const ORPHAN_AFTER_MS = 60 * 60_000;
const ARCHIVE = /^([0-9a-f-]{36})\.zip(\.part)?$/;

/**
 * Uploaded archives nobody will use: no instance row an hour after the upload (instance-service crashed or
 * failed to drop it), or an instance that is already provisioned or terminated. Deleted.
 */
@Injectable()
export class ImportArchiveSweeper implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(ImportArchiveSweeper.name);
  private timer: NodeJS.Timeout | null = null;

  constructor(
    private readonly archives: ImportArchives,
    private readonly instances: InstancesRepository,
  ) {}

  onApplicationBootstrap(): void {
    this.timer = setInterval(() => {
      this.sweep().catch((error: unknown) =>
        this.logger.warn(`import sweep failed: ${error instanceof Error ? error.message : String(error)}`),
      );
    }, SWEEP_INTERVAL_MS);
    this.timer.unref();
  }

  onApplicationShutdown(): void {
    if (this.timer) clearInterval(this.timer);
  }

  /** Returns the instance ids whose archive was deleted. */
  async sweep(now = Date.now()): Promise<string[]> {
    const names = await readdir(this.archives.dir()).catch(() => [] as string[]);
    const removed: string[] = [];
    for (const name of names) {
      const id = ARCHIVE.exec(name)?.[1];
      if (!id) continue;
      const row = await this.instances.findById(id);
      const age = now - (await stat(join(this.archives.dir(), name))).mtimeMs;
      const unused = row ? row.startedAt !== null || row.status === 'terminated' : age > ORPHAN_AFTER_MS;
      if (!unused) continue;
      await this.archives.discard(id);
      removed.push(id);
    }
    return removed;
  }
}
