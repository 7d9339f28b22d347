import { HttpStatus } from '@nestjs/common';
import { DomainError } from '@app/http';

/** What Kill Bill said about a failed call: its HTTP status and BillingExceptionJson (contract §1.3). */
export interface KillBillFailure {
  method: string;
  path: string;
  status: number | null;
  /** Kill Bill ErrorCode (e.g. 1091), null for non-Kill Bill exceptions. */
  code: number | null;
  className: string | null;
  message: string;
}

/**
 * Base of every Kill Bill client error. It is a DomainError so that one escaping to the edge becomes a
 * 502 (not a 500 with a stack) in the common envelope, without leaking Kill Bill's own message.
 */
export class KillBillError extends DomainError {
  constructor(
    readonly failure: KillBillFailure,
    status: HttpStatus = HttpStatus.BAD_GATEWAY,
    code = 'KILLBILL_ERROR',
  ) {
    super(
      status,
      code,
      `Kill Bill rejected ${failure.method} ${failure.path}` +
        (failure.status ? ` (HTTP ${failure.status}${failure.code ? `, code ${failure.code}` : ''})` : ''),
    );
  }

  /** Kill Bill's own message, for logs only. */
  get detail(): string {
    return this.failure.message;
  }
}

/** 400: validation, blocked by overdue (1090/1091/6000), invalid catalog (2080)... */
export class KillBillBadRequestError extends KillBillError {}
/** 401/403: wrong basic-auth credentials or tenant headers. */
export class KillBillAuthError extends KillBillError {}
/** 404: account, subscription, bundle, invoice... does not exist. */
export class KillBillNotFoundError extends KillBillError {}
/** 409: account externalKey or tenant apiKey already exists. */
export class KillBillConflictError extends KillBillError {}
/** 5xx answered by Kill Bill (including the 500s it uses for bad states, e.g. 1031/1070). */
export class KillBillServerError extends KillBillError {}

/** Kill Bill could not be reached, timed out, or answered 502/503/504/408: worth retrying later. */
export class KillBillUnavailableError extends KillBillError {
  constructor(failure: KillBillFailure) {
    super(failure, HttpStatus.SERVICE_UNAVAILABLE, 'DEPENDENCY_UNAVAILABLE');
  }
}

/** The answer did not have the documented shape (no Location on a 201, invalid JSON...). */
export class KillBillProtocolError extends KillBillError {}

/** Kill Bill ErrorCodes the platform reacts to (KB-API ErrorCode.java). */
export const KB_ERROR_CODES = {
  SUB_CANCEL_BAD_STATE: 1031,
  SUB_UNCANCEL_BAD_STATE: 1070,
  SUB_INVALID_SUBSCRIPTION_ID: 1082,
  SUB_BUNDLE_IS_OVERDUE_BLOCKED: 1090,
  SUB_ACCOUNT_IS_OVERDUE_BLOCKED: 1091,
  ACCOUNT_ALREADY_EXISTS: 3000,
  ACCOUNT_DOES_NOT_EXIST_FOR_KEY: 3003,
  BLOCK_BLOCKED_ACTION: 6000,
  CAT_INVALID_FOR_TENANT: 2080,
  TENANT_ALREADY_EXISTS: 20000,
} as const;

export function isOverdueBlocked(error: unknown): boolean {
  if (!(error instanceof KillBillError)) return false;
  const code = error.failure.code;
  return (
    code === KB_ERROR_CODES.SUB_ACCOUNT_IS_OVERDUE_BLOCKED ||
    code === KB_ERROR_CODES.SUB_BUNDLE_IS_OVERDUE_BLOCKED ||
    code === KB_ERROR_CODES.BLOCK_BLOCKED_ACTION
  );
}
