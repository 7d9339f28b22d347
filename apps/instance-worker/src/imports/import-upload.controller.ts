import {
  Controller,
  Delete,
  Headers,
  HttpCode,
  HttpStatus,
  Inject,
  Param,
  ParseUUIDPipe,
  Put,
  Req,
} from '@nestjs/common';
import {
  ApiConsumes,
  ApiNoContentResponse,
  ApiOkResponse,
  ApiOperation,
  ApiProperty,
  ApiTags,
} from '@nestjs/swagger';
import type { FastifyRequest } from 'fastify';
import { APP_CONFIG } from '@app/config';
import { IMPORT_UPLOAD_HEADERS } from '@app/contracts';
import { ApiErrors, ConflictError, DomainError, ForbiddenError } from '@app/http';
import { backupDownloadSecret, checkImportUpload, InstancesRepository } from '@app/instance-data';
import type { Config } from '../config/env';
import { ImportArchives } from './import-archives';

export class StoredImportDto {
  @ApiProperty({ format: 'uuid' }) instance_id: string;
  @ApiProperty({ description: 'Bytes stored' }) bytes: number;
}

class ImportsDisabledError extends DomainError {
  constructor() {
    super(
      HttpStatus.SERVICE_UNAVAILABLE,
      'IMPORTS_DISABLED',
      'Imports are not configured (BACKUP_DOWNLOAD_SECRET)',
    );
  }
}

/**
 * instance-service streams a validated Odoo zip here before it records the instance that is made from it
 * (the worker holds the files, as for downloads; no filesystem is shared). The signature, bound to the
 * instance id and short-lived, is the credential.
 */
@ApiTags('imports')
@Controller('imports')
export class ImportUploadController {
  constructor(
    private readonly archives: ImportArchives,
    private readonly instances: InstancesRepository,
    @Inject(APP_CONFIG) private readonly config: Config,
  ) {}

  @Put(':instanceId')
  @ApiOperation({
    summary: 'Store the Odoo zip a new instance will be provisioned from (instance-service only)',
  })
  @ApiConsumes('application/zip')
  @ApiOkResponse({ type: StoredImportDto })
  @ApiErrors({
    400: ['VALIDATION_FAILED'],
    403: ['IMPORT_UPLOAD_INVALID', 'IMPORT_UPLOAD_EXPIRED'],
    409: ['INSTANCE_EXISTS'],
    503: ['IMPORTS_DISABLED'],
  })
  async store(
    @Param('instanceId', ParseUUIDPipe) instanceId: string,
    @Headers(IMPORT_UPLOAD_HEADERS.expires) expires: string | undefined,
    @Headers(IMPORT_UPLOAD_HEADERS.signature) signature: string | undefined,
    @Req() request: FastifyRequest,
  ): Promise<StoredImportDto> {
    this.authorise(instanceId, expires, signature);
    // The archive comes before the row: one for an instance that exists already is never replaced.
    if (await this.instances.findById(instanceId))
      throw new ConflictError('INSTANCE_EXISTS', 'This instance exists already');
    const bytes = await this.archives.write(instanceId, request.raw);
    return { instance_id: instanceId, bytes };
  }

  @Delete(':instanceId')
  @HttpCode(204)
  @ApiOperation({
    summary: 'Drop an uploaded zip whose instance was not recorded after all (instance-service only)',
  })
  @ApiNoContentResponse({ description: 'Gone (or was never there)' })
  @ApiErrors({
    400: ['VALIDATION_FAILED'],
    403: ['IMPORT_UPLOAD_INVALID', 'IMPORT_UPLOAD_EXPIRED'],
    409: ['INSTANCE_EXISTS'],
    503: ['IMPORTS_DISABLED'],
  })
  async drop(
    @Param('instanceId', ParseUUIDPipe) instanceId: string,
    @Headers(IMPORT_UPLOAD_HEADERS.expires) expires: string | undefined,
    @Headers(IMPORT_UPLOAD_HEADERS.signature) signature: string | undefined,
  ): Promise<void> {
    this.authorise(instanceId, expires, signature);
    if (await this.instances.findById(instanceId))
      throw new ConflictError(
        'INSTANCE_EXISTS',
        'The instance exists: its archive goes with its provisioning',
      );
    await this.archives.discard(instanceId);
  }

  private authorise(instanceId: string, expires: string | undefined, signature: string | undefined): void {
    const secret = backupDownloadSecret(this.config);
    if (!secret) throw new ImportsDisabledError();
    const check = checkImportUpload(secret, instanceId, Number(expires), signature ?? '');
    if (check === 'invalid')
      throw new ForbiddenError('IMPORT_UPLOAD_INVALID', 'The upload signature is not valid');
    if (check === 'expired')
      throw new ForbiddenError('IMPORT_UPLOAD_EXPIRED', 'The upload signature has expired');
  }
}
