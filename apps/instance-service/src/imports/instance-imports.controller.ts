import { Body, Controller, HttpCode, Param, Post, Req } from '@nestjs/common';
import { ApiBody, ApiConsumes, ApiCreatedResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import type { FastifyRequest } from 'fastify';
import { Authenticated, CurrentUser } from '@app/auth';
import type { AuthenticatedUser } from '@app/auth';
import { ApiErrors, JSON_BODY_ERRORS } from '@app/http';
import { CreatedInstanceResponseDto } from '../instances/instance.dto';
import { InstanceIdPipe } from '../instances/instance-id.pipe';
import { INVALID_IMPORT_CODES } from './import-errors';
import { ImportInstanceFormDto, RestoreToNewInstanceDto } from './import.dto';
import { InstanceImportService } from './instance-import.service';
import { StagingRestoreService } from './staging-restore.service';

/** What refuses a creation (POST /api/v1/instances) refuses these too. */
const CREATION_CONFLICTS = [
  'QUOTA_EXCEEDED',
  'PLAN_LIMIT_EXCEEDED',
  'SUBDOMAIN_TAKEN',
  'DATABASE_NAME_TAKEN',
  'TENANT_SUSPENDED',
  'TRIAL_ALREADY_USED',
  'ACCOUNT_OVERDUE',
  'BILLING_DISABLED',
  'SUBSCRIPTION_EXISTS',
  'SUBSCRIPTION_REFUSED',
];

/** Instances made from an archive: an uploaded Odoo backup (import) or a backup of another instance (staging). */
@ApiTags('instances')
@Controller('api/v1/instances')
@Authenticated()
export class InstanceImportsController {
  constructor(
    private readonly imports: InstanceImportService,
    private readonly staging: StagingRestoreService,
  ) {}

  @Post('import')
  @HttpCode(201)
  @ApiOperation({
    summary: 'Create an instance from an Odoo backup zip',
    description:
      'multipart/form-data: the fields of POST /api/v1/instances (odoo_version required; lists and objects as ' +
      "JSON text), then the `file` part, last (fields after it are ignored), with a zip as Odoo's database manager makes it (manifest.json, " +
      "dump.sql, filestore/). The upload is streamed to disk, at most the new instance's storage limit (its " +
      'plan) and IMPORT_MAX_BYTES (413 IMPORT_TOO_LARGE). The archive is checked before anything is created ' +
      "(a zip, manifest.json with Odoo's version equal to odoo_version, dump.sql): a bad one is a 400 that " +
      'leaves nothing behind. Then the instance is created as by POST /api/v1/instances (same roles, quota ' +
      'and plan rules) and the worker provisions it from the archive instead of a fresh database; the ' +
      'administrator (user id 2) gets admin_email as login and the password returned here.',
  })
  @ApiConsumes('multipart/form-data')
  @ApiBody({ type: ImportInstanceFormDto })
  @ApiCreatedResponse({ type: CreatedInstanceResponseDto })
  @ApiErrors({
    400: ['VALIDATION_FAILED', 'UNKNOWN_PLAN', ...INVALID_IMPORT_CODES],
    403: ['TENANT_ROLE_FORBIDDEN'],
    404: ['NOT_FOUND'],
    409: CREATION_CONFLICTS,
    413: ['IMPORT_TOO_LARGE'],
    503: ['IMPORTS_DISABLED', 'DEPENDENCY_UNAVAILABLE'],
  })
  importArchive(@CurrentUser() user: AuthenticatedUser, @Req() request: FastifyRequest) {
    return this.imports.import(user, request);
  }

  @Post(':id/backups/:backup_id/restore')
  @HttpCode(201)
  @ApiOperation({
    summary: 'Restore a backup into a new instance (a staging copy)',
    description:
      '`{"target": "new", "name": …}` creates a new `staging` instance in the same tenant with the backup\'s data ' +
      "(the source's version, limits, addons and admin email), counted against the tenant's quota like any " +
      'instance; the source instance is not touched. The administrator gets the password returned here.',
  })
  @ApiCreatedResponse({ type: CreatedInstanceResponseDto })
  @ApiErrors(JSON_BODY_ERRORS, {
    403: ['TENANT_ROLE_FORBIDDEN'],
    404: ['INSTANCE_NOT_FOUND', 'NOT_FOUND', 'BACKUP_NOT_FOUND'],
    409: ['BACKUP_NOT_COMPLETED', ...CREATION_CONFLICTS],
  })
  restoreToNew(
    @CurrentUser() user: AuthenticatedUser,
    @Param('id', InstanceIdPipe) id: string,
    @Param('backup_id') backupId: string,
    @Body() dto: RestoreToNewInstanceDto,
    @Req() request: FastifyRequest,
  ) {
    return this.staging.restoreToNew(user, id, backupId, dto, String(request.id));
  }
}
