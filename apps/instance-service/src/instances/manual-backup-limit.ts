import { HttpStatus, Inject, Injectable } from '@nestjs/common';
import { APP_CONFIG } from '@app/config';
import { DomainError } from '@app/http';
import { InstanceBackupsRepository } from '@app/instance-data';
import type { Config } from '../config/env';

/** 429 BACKUP_DAILY_LIMIT: `details[0]` says the limit and when the next one is possible. */
export class ManualBackupLimitError extends DomainError {
  constructor(limit: number, resetAt: Date) {
    const seconds = Math.max(1, Math.ceil((resetAt.getTime() - Date.now()) / 1000));
    super(
      HttpStatus.TOO_MANY_REQUESTS,
      'BACKUP_DAILY_LIMIT',
      `At most ${limit} manual backups per instance and day; the next one is possible at ${resetAt.toISOString()}`,
      [{ limit, reset_at: resetAt.toISOString() }],
      { 'retry-after': String(seconds) },
    );
  }
}

/** MANUAL_BACKUPS_PER_DAY: manual backups (attempts included) started since 00:00 UTC. */
@Injectable()
export class ManualBackupLimit {
  constructor(
    private readonly backups: InstanceBackupsRepository,
    @Inject(APP_CONFIG) private readonly config: Config,
  ) {}

  async assertAllowed(instanceId: string, now = new Date()): Promise<void> {
    const dayStart = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate()));
    const taken = await this.backups.countKindSince(instanceId, 'manual', dayStart);
    const limit = this.config.MANUAL_BACKUPS_PER_DAY;
    if (taken >= limit) throw new ManualBackupLimitError(limit, new Date(dayStart.getTime() + 86_400_000));
  }
}
