import { HttpStatus } from '@nestjs/common';
import { DomainError } from '@app/http';

/** Why an uploaded archive cannot be imported (400, nothing was created). */
export type InvalidImportCode =
  | 'IMPORT_FILE_MISSING'
  | 'IMPORT_NOT_A_ZIP'
  | 'IMPORT_MANIFEST_MISSING'
  | 'IMPORT_MANIFEST_INVALID'
  | 'IMPORT_DUMP_MISSING'
  | 'IMPORT_ARCHIVE_UNSAFE'
  | 'IMPORT_VERSION_MISMATCH';

export const INVALID_IMPORT_CODES: readonly InvalidImportCode[] = [
  'IMPORT_FILE_MISSING',
  'IMPORT_NOT_A_ZIP',
  'IMPORT_MANIFEST_MISSING',
  'IMPORT_MANIFEST_INVALID',
  'IMPORT_DUMP_MISSING',
  'IMPORT_ARCHIVE_UNSAFE',
  'IMPORT_VERSION_MISMATCH',
];

export class InvalidImportError extends DomainError {
  constructor(code: InvalidImportCode, message: string) {
    super(HttpStatus.BAD_REQUEST, code, message);
  }
}

export class ImportTooLargeError extends DomainError {
  constructor(maxBytes: number) {
    super(
      HttpStatus.PAYLOAD_TOO_LARGE,
      'IMPORT_TOO_LARGE',
      `The archive is larger than this instance may import (${maxBytes} bytes: its storage limit, at most IMPORT_MAX_BYTES)`,
      [{ max_bytes: maxBytes }],
    );
  }
}

export class ImportsDisabledError extends DomainError {
  constructor() {
    super(
      HttpStatus.SERVICE_UNAVAILABLE,
      'IMPORTS_DISABLED',
      'Imports are not configured (BACKUP_DOWNLOAD_SECRET, shared with the worker)',
    );
  }
}
