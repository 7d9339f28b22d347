/** Observed status of an Odoo instance, as the worker last saw it. */
export const INSTANCE_STATUSES = [
  'pending',
  'provisioning',
  'starting',
  'running',
  'stopping',
  'stopped',
  'restarting',
  'suspended',
  'backing_up',
  'restoring',
  'upgrading',
  'terminating',
  'terminated',
  'error',
  'container_missing',
  /** It should run, but no eligible node can take it (its node is down or drained). */
  'unschedulable',
  /** An admin moves its local volume to another node (`POST /admin/instances/{id}/migrate`). */
  'migrating',
] as const;
export type InstanceStatus = (typeof INSTANCE_STATUSES)[number];

/** What the platform wants the instance to be; the worker converges the observed status to it. */
export const DESIRED_STATES = ['running', 'stopped', 'suspended', 'terminated'] as const;
export type DesiredState = (typeof DESIRED_STATES)[number];

export const INSTANCE_ACTIONS = [
  'start',
  'stop',
  'restart',
  'suspend',
  'unsuspend',
  'backup',
  'restore',
  'upgrade',
  'terminate',
  'reactivate',
] as const;
export type InstanceAction = (typeof INSTANCE_ACTIONS)[number];

/**
 * The one table of which action is allowed in which status, used by the API (409 otherwise) and the
 * worker alike. Transitional statuses allow only terminate, so a stuck step can always be abandoned.
 * `reactivate` is refused (409 INSTANCE_PURGED) once the instance's data was purged.
 */
export const ALLOWED_ACTIONS: Record<InstanceStatus, readonly InstanceAction[]> = {
  pending: ['terminate'],
  provisioning: ['terminate'],
  starting: ['stop', 'terminate'],
  running: ['stop', 'restart', 'suspend', 'backup', 'upgrade', 'terminate'],
  stopping: ['terminate'],
  stopped: ['start', 'suspend', 'backup', 'restore', 'upgrade', 'terminate'],
  restarting: ['terminate'],
  suspended: ['unsuspend', 'backup', 'terminate'],
  backing_up: ['terminate'],
  restoring: ['terminate'],
  upgrading: ['terminate'],
  terminating: [],
  // Until the purge (INSTANCE_PURGE_AFTER_SECONDS after terminate) the data is kept: it can come back.
  terminated: ['reactivate'],
  error: ['start', 'stop', 'restart', 'restore', 'terminate'],
  container_missing: ['start', 'restore', 'terminate'],
  unschedulable: ['stop', 'restore', 'terminate'],
  migrating: ['terminate'],
};

/**
 * Where an admin may move an instance to another node (`POST /admin/instances/{id}/migrate`): settled
 * statuses only, including `unschedulable` (its node drained or down: it moves from its latest backup).
 */
export const MIGRATABLE_STATUSES: readonly InstanceStatus[] = [
  'running',
  'stopped',
  'suspended',
  'unschedulable',
];

export function isActionAllowed(status: InstanceStatus, action: InstanceAction): boolean {
  return ALLOWED_ACTIONS[status].includes(action);
}
