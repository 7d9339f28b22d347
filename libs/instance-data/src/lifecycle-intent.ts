import { isActionAllowed, type DesiredState, type InstanceAction, type InstanceStatus } from '@app/contracts';
import type { LifecycleJobName, LifecycleJobParams } from '@app/queue';
import {
  ActionNotAllowedError,
  InstancePurgedError,
  InvalidActionParametersError,
  OperationPendingError,
} from './instance-data.errors';
import {
  isOperationAction,
  ODOO_VERSIONS,
  type OperationAction,
  type PendingOperation,
} from './instance.types';

/** The parts of an instance row an intent is computed from. */
export interface IntentSubject {
  status: InstanceStatus;
  desiredState: DesiredState;
  previousStatus: InstanceStatus | null;
  odooVersion: string;
  pendingOperation: PendingOperation | null;
  /** Set once a terminated instance's data is gone (reactivate is refused then). */
  purgedAt?: Date | null;
  /** When a terminated instance's data is purged. */
  purgeAfter?: Date | null;
}

/** What recording an intent changes in the row, and which job carries it out. */
export interface PlannedIntent {
  desiredState: DesiredState;
  previousStatus: InstanceStatus | null;
  /** Set for restart/backup/restore/upgrade; `clear` for terminate (abandons a pending operation). */
  operation: { action: PendingOperation['action']; params: LifecycleJobParams } | 'clear' | null;
  jobName: LifecycleJobName;
  params: LifecycleJobParams;
}

/** Job converging the instance to `desired` (the names only say what triggered it; the worker converges). */
export function desiredStateJobName(
  subject: Pick<IntentSubject, 'status' | 'desiredState'>,
  desired: DesiredState,
): LifecycleJobName {
  switch (desired) {
    case 'terminated':
      return 'terminate';
    case 'stopped':
      return 'stop';
    case 'suspended':
      return 'suspend';
    case 'running':
      if (subject.status === 'pending') return 'provision';
      return subject.desiredState === 'suspended' ? 'unsuspend' : 'start';
  }
}

function stableTarget(state: InstanceStatus | DesiredState | null): 'running' | 'stopped' | null {
  return state === 'running' || state === 'stopped' ? state : null;
}

/**
 * A user action (`POST …/actions`): checked against ALLOWED_ACTIONS for the observed status, then turned into
 * a desired state and/or pending operation. Throws the 409/400 domain errors.
 */
export function planAction(
  subject: IntentSubject,
  action: InstanceAction,
  params: LifecycleJobParams,
): PlannedIntent {
  if (!isActionAllowed(subject.status, action)) throw new ActionNotAllowedError(action, subject.status);
  if (isOperationAction(action)) {
    if (subject.pendingOperation) throw new OperationPendingError(subject.pendingOperation);
    const operationParams = operationParameters(subject, action, params);
    return {
      // A restart from `error` means "be running"; the others keep the desired state.
      desiredState: action === 'restart' ? 'running' : subject.desiredState,
      previousStatus: subject.previousStatus,
      operation: { action, params: operationParams },
      jobName: action,
      params: operationParams,
    };
  }
  switch (action) {
    case 'start':
      return plain(subject, 'running', 'start');
    case 'stop':
      return plain(subject, 'stopped', 'stop');
    case 'suspend':
      return {
        desiredState: 'suspended',
        previousStatus: stableTarget(subject.desiredState) ?? subject.previousStatus ?? 'running',
        operation: null,
        jobName: 'suspend',
        params: {},
      };
    case 'unsuspend':
      return plain(subject, stableTarget(subject.previousStatus) ?? 'running', 'unsuspend');
    case 'terminate':
      // What reactivate brings back: running or stopped as it was (a suspended one comes back stopped).
      return {
        ...plain(subject, 'terminated', 'terminate'),
        previousStatus: stableTarget(subject.desiredState) ?? 'stopped',
        operation: 'clear',
      };
    case 'reactivate': {
      const purgeDue = subject.purgeAfter ? subject.purgeAfter.getTime() <= Date.now() : false;
      if (subject.purgedAt || purgeDue) throw new InstancePurgedError();
      const desired = stableTarget(subject.previousStatus) ?? 'stopped';
      return plain(subject, desired, desired === 'running' ? 'start' : 'stop');
    }
    default:
      throw new Error(`unhandled action ${action}`);
  }
}

function plain(subject: IntentSubject, desired: DesiredState, jobName: LifecycleJobName): PlannedIntent {
  return {
    desiredState: desired,
    previousStatus: subject.previousStatus,
    operation: null,
    jobName,
    params: {},
  };
}

function operationParameters(
  subject: IntentSubject,
  action: OperationAction,
  params: LifecycleJobParams,
): LifecycleJobParams {
  switch (action) {
    case 'restore':
      if (!params.backup_id)
        throw new InvalidActionParametersError('restore needs parameters.backup_id', 'backup_id');
      return { backup_id: params.backup_id };
    case 'upgrade': {
      const version = params.version;
      if (!version || !(ODOO_VERSIONS as readonly string[]).includes(version)) {
        throw new InvalidActionParametersError(
          `upgrade needs parameters.version, one of ${ODOO_VERSIONS.join(', ')}`,
          'version',
        );
      }
      if (Number(version) <= Number(subject.odooVersion)) {
        throw new InvalidActionParametersError(
          `upgrade must go to a newer version than ${subject.odooVersion}`,
          'version',
        );
      }
      return { version };
    }
    case 'backup':
      return params.kind ? { kind: params.kind } : {};
    default:
      return {};
  }
}

/**
 * A desired-state change from another service (billing entitlement, suspension, cancellation) through the
 * internal API. Not limited by ALLOWED_ACTIONS: the worker converges whatever the status. Null when the
 * instance already wants that state (idempotent).
 */
export function planDesiredState(subject: IntentSubject, desired: DesiredState): PlannedIntent | null {
  if (subject.desiredState === desired) return null;
  return {
    desiredState: desired,
    previousStatus:
      desired === 'suspended'
        ? (stableTarget(subject.desiredState) ?? subject.previousStatus ?? 'running')
        : desired === 'terminated'
          ? (stableTarget(subject.desiredState) ?? 'stopped')
          : subject.previousStatus,
    operation: desired === 'terminated' ? 'clear' : null,
    jobName: desiredStateJobName(subject, desired),
    params: {},
  };
}
