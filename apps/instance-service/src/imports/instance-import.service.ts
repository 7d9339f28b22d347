import { Inject, Injectable } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import { randomUUID } from 'node:crypto';
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { AuthenticatedUser } from '@app/auth';
import { APP_CONFIG } from '@app/config';
import { createValidationPipe, ValidationFailedError } from '@app/http';
import type { Config } from '../config/env';
import { CreateInstanceDto, type CreatedInstanceResponseDto } from '../instances/instance.dto';
import { InstanceCreationService } from '../instances/instance-creation.service';
import { importLimitBytes } from './import-limits';
import { readImportUpload, type ImportFilePart } from './multipart-import.reader';
import { validateOdooArchive } from './odoo-archive.validator';
import { WorkerImportsClient } from './worker-imports.client';

/** Form fields that carry JSON (numbers, booleans, lists, objects); the others are plain strings. */
const JSON_FIELDS = new Set([
  'cpu_limit',
  'demo_data',
  'custom_addons',
  'disabled_modules',
  'environment_vars',
  'metadata',
]);

function formValue(name: string, value: string): unknown {
  if (!JSON_FIELDS.has(name)) return value;
  try {
    return JSON.parse(value) as unknown;
  } catch {
    return value;
  }
}

/**
 * POST /api/v1/instances/import: an instance made from an uploaded Odoo backup zip. The creation runs exactly
 * as POST /api/v1/instances does (validation, tenant role, plan ceilings, names, quota slot, billing); before
 * the row is written, the zip is streamed to disk (size-limited by the instance's plan), validated, and
 * streamed on to the worker, which provisions the instance from it. A refused archive leaves nothing: no row,
 * no slot, no file here or on the worker.
 */
@Injectable()
export class InstanceImportService {
  private readonly validation = createValidationPipe();

  constructor(
    private readonly creation: InstanceCreationService,
    private readonly worker: WorkerImportsClient,
    @Inject(APP_CONFIG) private readonly config: Config,
  ) {}

  async import(user: AuthenticatedUser, request: FastifyRequest): Promise<CreatedInstanceResponseDto> {
    this.worker.assertEnabled();
    if (!String(request.headers['content-type'] ?? '').startsWith('multipart/form-data')) {
      throw new ValidationFailedError(
        'Expected a multipart/form-data body: the fields, then the "file" part',
      );
    }
    return readImportUpload(request.raw, request.headers, this.config.IMPORT_MAX_BYTES + 1, (part) =>
      this.create(user, part, String(request.id)),
    );
  }

  private async create(
    user: AuthenticatedUser,
    part: ImportFilePart,
    requestId: string,
  ): Promise<CreatedInstanceResponseDto> {
    const dto = await this.formDto(part.fields);
    const version = dto.odoo_version;
    if (!version)
      throw new ValidationFailedError('odoo_version: required for an import (it must match the backup)');
    await mkdir(this.config.IMPORT_TMP_DIR, { recursive: true, mode: 0o700 });
    const path = join(this.config.IMPORT_TMP_DIR, `${randomUUID()}.zip`);
    try {
      return await this.creation.create(user, dto, requestId, {
        source: { kind: 'import', filename: part.filename?.slice(0, 255) ?? null },
        prepare: async (instanceId, limits) => {
          await part.saveTo(path, importLimitBytes(limits.storage_limit, this.config.IMPORT_MAX_BYTES));
          await validateOdooArchive(path, version);
          await this.worker.upload(instanceId, path).catch(async (error: unknown) => {
            await this.worker.drop(instanceId).catch(() => undefined);
            throw error;
          });
        },
        abandon: (instanceId) => this.worker.drop(instanceId),
      });
    } finally {
      await rm(path, { force: true });
    }
  }

  private async formDto(fields: Record<string, string>): Promise<CreateInstanceDto> {
    const plain = Object.fromEntries(Object.entries(fields).map(([k, v]) => [k, formValue(k, v)]));
    return (await this.validation.transform(plain, {
      type: 'body',
      metatype: CreateInstanceDto,
    })) as CreateInstanceDto;
  }
}
