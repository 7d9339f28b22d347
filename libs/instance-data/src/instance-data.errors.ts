import { HttpStatus } from '@nestjs/common';
import type { InstanceAction, InstanceStatus, SuspensionSource } from '@app/contracts';
import { ALLOWED_ACTIONS } from '@app/contracts';
import { ConflictError, DomainError, NotFoundError, ValidationFailedError } from '@app/http';
import type { PendingOperation } from './instance.types';

export class InstanceNotFoundError extends NotFoundError {
  constructor() {
    super('Instance', 'INSTANCE_NOT_FOUND');
  }
}

/** 409: reactivate after the retention period, when the data is (or is about to be) purged. */
export class InstancePurgedError extends ConflictError {
  constructor() {
    super(
      'INSTANCE_PURGED',
      'The retention period after termination is over: the instance and its backups are purged and cannot come back',
    );
  }
}

export class BackupNotFoundError extends NotFoundError {
  constructor() {
    super('Backup', 'BACKUP_NOT_FOUND');
  }
}

/** 409 with the actions the current status allows (`details[0].allowed_actions`). */
export class ActionNotAllowedError extends ConflictError {
  constructor(
    readonly action: InstanceAction,
    readonly currentStatus: InstanceStatus,
  ) {
    super('ACTION_NOT_ALLOWED', `Action "${action}" is not allowed while the instance is ${currentStatus}`, [
      { status: currentStatus, action, allowed_actions: [...ALLOWED_ACTIONS[currentStatus]] },
    ]);
  }
}

/** Another restart/backup/restore/upgrade was requested and is not finished yet. */
export class OperationPendingError extends ConflictError {
  constructor(readonly pending: PendingOperation) {
    super(
      'OPERATION_PENDING',
      `A ${pending.action} of this instance is still in progress (job ${pending.job_id})`,
      [{ pending_action: pending.action, job_id: pending.job_id }],
    );
  }
}

export class InstanceTerminatedError extends ConflictError {
  constructor() {
    super('INSTANCE_TERMINATED', 'The instance is terminated');
  }
}

/** A unique name is already used by a live instance (subdomain) or held by one not yet purged (database). */
export class InstanceNameTakenError extends ConflictError {
  constructor(readonly field: 'subdomain' | 'database_name') {
    super(
      field === 'subdomain' ? 'SUBDOMAIN_TAKEN' : 'DATABASE_NAME_TAKEN',
      field === 'subdomain' ? 'This subdomain is already taken' : 'This database name is already taken',
      [{ field }],
    );
  }
}

export class InvalidActionParametersError extends ValidationFailedError {
  constructor(message: string, field: string) {
    super(message, [{ field: `parameters.${field}`, message }]);
  }
}

/** The row changed under the caller (optimistic check failed); the caller re-reads and decides again. */
export class InstanceChangedError extends DomainError {
  constructor(message = 'The instance changed concurrently, try again') {
    super(HttpStatus.CONFLICT, 'INSTANCE_CHANGED', message);
  }
}

/**
 * `unsuspend` of a suspension the caller may not lift: billing's (pay the invoices) or an administrator's.
 * 409 SUSPENDED_BY_BILLING or SUSPENDED_BY_ADMIN; `details[0].suspension_sources` lists who holds it.
 */
export class SuspendedByOtherError extends ConflictError {
  constructor(readonly holding: readonly SuspensionSource[]) {
    const byBilling = holding.includes('billing');
    super(
      byBilling ? 'SUSPENDED_BY_BILLING' : 'SUSPENDED_BY_ADMIN',
      byBilling
        ? 'The instance is suspended by billing (unpaid invoices); it resumes when the account is settled'
        : 'The instance is suspended by an administrator; only an administrator can lift it',
      [{ suspension_sources: [...holding] }],
    );
  }
}

/**
 * 409: the instance cannot move to another node (`POST /admin/instances/{id}/migrate`): the orchestrator
 * or storage has nothing to migrate, its status does not allow it, or the target node is not eligible.
 */
export class MigrationRefusedError extends ConflictError {
  constructor(code: string, message: string, details: unknown[] = []) {
    super(code, message, details);
  }
}

/** 400: the named node is not a node of the swarm. */
export class MigrationNodeUnknownError extends ValidationFailedError {
  constructor(message: string) {
    super(message, [{ field: 'node', problems: [message] }]);
  }
}
