import { Controller, Get, HttpStatus, Inject, Param, ParseUUIDPipe, Query, Res } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiProperty, ApiTags } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { IsInt, IsString, Length, Min } from 'class-validator';
import type { FastifyReply } from 'fastify';
import { APP_CONFIG } from '@app/config';
import { ApiErrors, DomainError, ForbiddenError } from '@app/http';
import {
  backupDownloadSecret,
  BackupNotFoundError,
  checkBackupDownload,
  InstanceBackupsRepository,
} from '@app/instance-data';
import type { Config } from '../config/env';
import { BackupCorruptError, InstanceBackupsService } from '../lifecycle/instance-backups.service';
import { OffsiteStoreUnavailableError } from './offsite/offsite-backup-store';
import { odooBackupZip } from './odoo-zip-exporter';

/** What a download of an off-host-only backup asks for while the store is down. */
const STORE_RETRY_AFTER_SECONDS = 60;

export class BackupDownloadQueryDto {
  @ApiProperty({ description: 'Unix seconds after which the link no longer works' })
  @Type(() => Number)
  @IsInt()
  @Min(0)
  expires: number;

  @ApiProperty({ description: 'HMAC of the backup id and `expires` (instance-service signs it)' })
  @IsString()
  @Length(1, 128)
  signature: string;
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

/**
 * The worker holds the backup files, so it serves their download: a link signed by instance-service (short-
 * lived, bound to one backup) is the only credential. The answer is a zip in Odoo's backup format, streamed.
 */
@ApiTags('backups')
@Controller('backups')
export class BackupDownloadController {
  constructor(
    private readonly rows: InstanceBackupsRepository,
    private readonly backups: InstanceBackupsService,
    @Inject(APP_CONFIG) private readonly config: Config,
  ) {}

  @Get(':backupId/download')
  @ApiOperation({ summary: 'A backup as an Odoo database-manager zip (dump.sql, filestore/, manifest.json)' })
  @ApiOkResponse({
    description: 'The zip, streamed',
    content: { 'application/zip': { schema: { type: 'string', format: 'binary' } } },
  })
  @ApiErrors({
    400: ['VALIDATION_FAILED'],
    403: ['DOWNLOAD_LINK_INVALID', 'DOWNLOAD_LINK_EXPIRED'],
    404: ['BACKUP_NOT_FOUND'],
    409: ['BACKUP_CORRUPT'],
    503: ['DOWNLOADS_DISABLED', 'BACKUP_STORE_UNAVAILABLE'],
  })
  async download(
    @Param('backupId', ParseUUIDPipe) backupId: string,
    @Query() query: BackupDownloadQueryDto,
    @Res() reply: FastifyReply,
  ): Promise<void> {
    const secret = backupDownloadSecret(this.config);
    if (!secret) throw new DownloadsDisabledError();
    const check = checkBackupDownload(secret, backupId, query.expires, query.signature);
    if (check === 'invalid')
      throw new ForbiddenError('DOWNLOAD_LINK_INVALID', 'This download link is not valid');
    if (check === 'expired')
      throw new ForbiddenError('DOWNLOAD_LINK_EXPIRED', 'This download link has expired');
    const backup = await this.rows.findById(backupId);
    if (!backup || backup.status !== 'completed' || !backup.dbDumpPath || !backup.filestorePath)
      throw new BackupNotFoundError();
    // The files must still be what was written: never stream a damaged backup as if it were good.
    await this.backups.verify(backup).catch((error: unknown) => {
      if (error instanceof BackupCorruptError) {
        throw new DomainError(HttpStatus.CONFLICT, 'BACKUP_CORRUPT', error.message);
      }
      if (error instanceof OffsiteStoreUnavailableError) {
        void reply.header('retry-after', String(STORE_RETRY_AFTER_SECONDS));
        throw new DomainError(
          HttpStatus.SERVICE_UNAVAILABLE,
          'BACKUP_STORE_UNAVAILABLE',
          'This backup is kept off-host only and the backup store cannot be reached now; try again in a minute',
        );
      }
      throw error;
    });
    const stamp = backup.createdAt.toISOString().replace(/[-:]/g, '').slice(0, 15);
    const zip = odooBackupZip({
      backupId: backup.id,
      dumpPath: backup.dbDumpPath,
      filestorePath: backup.filestorePath,
      databaseName: backup.databaseName,
      odooVersion: backup.odooVersion,
      tables: backup.manifest?.tables ?? null,
      pgRestoreBin: this.config.PG_RESTORE_BIN,
    });
    await reply
      .header('content-type', 'application/zip')
      .header('content-disposition', `attachment; filename="${backup.databaseName}_${stamp}.zip"`)
      .header('cache-control', 'no-store')
      .send(zip);
  }
}
