import { HttpStatus, Inject, Injectable } from '@nestjs/common';
import { ApiProperty } from '@nestjs/swagger';
import type { AuthenticatedUser } from '@app/auth';
import { APP_CONFIG } from '@app/config';
import { DomainError, NotFoundError } from '@app/http';
import {
  backupDownloadSecret,
  BackupNotFoundError,
  InstanceBackupsRepository,
  InstancesRepository,
  signBackupDownload,
} from '@app/instance-data';
import type { Config } from '../config/env';
import { TenantAccessPolicy } from '../tenants/tenant-access';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export class BackupDownloadLinkDto {
  @ApiProperty({ format: 'uuid' }) backup_id: string;
  @ApiProperty({
    description:
      'Short-lived signed link to the backup as an Odoo database-manager zip (dump.sql, filestore/, manifest.json), served by the worker that holds it',
  })
  url: string;
  @ApiProperty({ format: 'date-time' }) expires_at: string;
}

class BackupNotDownloadableError extends DomainError {
  constructor(status: string) {
    super(
      HttpStatus.CONFLICT,
      'BACKUP_NOT_COMPLETED',
      `Only completed backups can be downloaded (this one is ${status})`,
    );
  }
}

class DownloadsDisabledError extends DomainError {
  constructor() {
    super(
      HttpStatus.SERVICE_UNAVAILABLE,
      'DOWNLOADS_DISABLED',
      'Backup downloads are not configured (BACKUP_DOWNLOAD_SECRET)',
    );
  }
}

/** Hands out signed, short-lived download links; the bytes come from the worker (the link is its credential). */
@Injectable()
export class BackupDownloadLinks {
  constructor(
    private readonly instances: InstancesRepository,
    private readonly backups: InstanceBackupsRepository,
    private readonly access: TenantAccessPolicy,
    @Inject(APP_CONFIG) private readonly config: Config,
  ) {}

  async link(user: AuthenticatedUser, id: string, backupId: string): Promise<BackupDownloadLinkDto> {
    const instance = await this.instances.getById(id);
    // Downloading takes the whole database away: the same permission as running actions on it.
    await this.access.check(user, instance.tenantId, 'instances:operate', 'Instance');
    if (!UUID.test(backupId)) throw new NotFoundError('Backup', 'BACKUP_NOT_FOUND');
    const backup = await this.backups.findForInstance(instance.id, backupId.toLowerCase());
    if (!backup) throw new BackupNotFoundError();
    if (backup.status !== 'completed') throw new BackupNotDownloadableError(backup.status);
    const secret = backupDownloadSecret(this.config);
    if (!secret) throw new DownloadsDisabledError();
    const expires = Math.floor(Date.now() / 1000) + this.config.BACKUP_DOWNLOAD_TTL_SECONDS;
    const signature = signBackupDownload(secret, backup.id, expires);
    const query = new URLSearchParams({ expires: String(expires), signature });
    return {
      backup_id: backup.id,
      url: `${this.config.BACKUP_DOWNLOAD_URL}/backups/${backup.id}/download?${query.toString()}`,
      expires_at: new Date(expires * 1000).toISOString(),
    };
  }
}
