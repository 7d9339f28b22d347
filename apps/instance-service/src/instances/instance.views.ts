import { ALLOWED_ACTIONS } from '@app/contracts';
import type { InstanceBackupEntity, InstanceEntity, InstanceEventEntity } from '@app/instance-data';
import type { BackupDto, InstanceEventDto, InstanceResponseDto, InstanceStatusDto } from './instance.dto';

const iso = (date: Date | null): string | null => (date ? date.toISOString() : null);

/**
 * The customer's view of an instance. The admin password (hash or ciphertext) and the database password
 * never leave the service; the JSON fields are returned exactly as stored.
 */
export function instanceView(instance: InstanceEntity): InstanceResponseDto {
  return {
    id: instance.id,
    tenant_id: instance.tenantId,
    customer_id: instance.customerId,
    name: instance.name,
    description: instance.description,
    odoo_version: instance.odooVersion,
    image: instance.image,
    instance_type: instance.instanceType,
    status: instance.status,
    desired_state: instance.desiredState,
    cpu_limit: instance.cpuLimit,
    memory_limit: instance.memoryLimit,
    storage_limit: instance.storageLimit,
    admin_email: instance.adminEmail,
    database_name: instance.databaseName,
    subdomain: instance.subdomain ?? '',
    demo_data: instance.demoData,
    custom_addons: instance.customAddons,
    disabled_modules: instance.disabledModules,
    environment_vars: instance.environmentVars,
    metadata: instance.metadata,
    plan_name: instance.planName,
    external_url: instance.externalUrl,
    internal_url: instance.internalUrl,
    error_message: instance.status === 'error' ? (instance.lastError ?? instance.statusReason) : null,
    status_reason: instance.statusReason,
    suspension_sources: [...instance.suspensionSources],
    usage: {
      storage_bytes: instance.storageBytes,
      database_bytes: instance.databaseBytes,
      measured_at: iso(instance.usageMeasuredAt),
    },
    started_at: iso(instance.startedAt),
    created_at: instance.createdAt.toISOString(),
    updated_at: instance.updatedAt.toISOString(),
  };
}

export function statusView(instance: InstanceEntity): InstanceStatusDto {
  return {
    instance_id: instance.id,
    status: instance.status,
    desired_state: instance.desiredState,
    allowed_actions: [...ALLOWED_ACTIONS[instance.status]],
    pending_operation: instance.pendingOperation
      ? {
          action: instance.pendingOperation.action,
          job_id: instance.pendingOperation.job_id,
          requested_at: instance.pendingOperation.requested_at,
        }
      : null,
    status_reason: instance.statusReason,
    last_error: instance.lastError,
    started_at: iso(instance.startedAt),
    external_url: instance.externalUrl,
    internal_url: instance.internalUrl,
    updated_at: instance.updatedAt.toISOString(),
  };
}

export function eventView(event: InstanceEventEntity): InstanceEventDto {
  return {
    id: String(event.id),
    action: event.action,
    from_status: event.fromStatus,
    to_status: event.toStatus,
    desired_state: event.desiredState,
    actor: event.actor,
    reason: event.reason,
    job_id: event.jobId,
    generation: event.generation,
    created_at: event.createdAt.toISOString(),
  };
}

/** `offsiteCopiedAt`: when the backup's off-host copy was uploaded and checked (null: none, or not yet). */
export function backupView(backup: InstanceBackupEntity, offsiteCopiedAt: Date | null = null): BackupDto {
  const total =
    backup.dbDumpSize !== null && backup.filestoreSize !== null
      ? backup.dbDumpSize + backup.filestoreSize
      : null;
  return {
    backup_id: backup.id,
    kind: backup.kind,
    status: backup.status,
    verification: backup.verification,
    verified_at: iso(backup.verifiedAt),
    verification_error: backup.verificationError,
    odoo_version: backup.odooVersion,
    database_size: backup.dbDumpSize,
    data_size: backup.filestoreSize,
    total_size: total,
    database_sha256: backup.dbDumpSha256,
    filestore_sha256: backup.filestoreSha256,
    requested_by: backup.requestedBy,
    error: backup.error,
    created_at: backup.createdAt.toISOString(),
    completed_at: iso(backup.completedAt),
    locations: backup.status !== 'completed' ? [] : offsiteCopiedAt ? ['local', 's3'] : ['local'],
    offsite_copied_at: iso(offsiteCopiedAt),
  };
}
