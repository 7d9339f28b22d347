import { HttpStatus, Injectable } from '@nestjs/common';
import type { AuthenticatedUser } from '@app/auth';
import { DomainError, NotFoundError } from '@app/http';
import { BackupNotFoundError, InstanceBackupsRepository, InstancesRepository } from '@app/instance-data';
import { RandomSource } from '../common/random-source';
import type { CreatedInstanceResponseDto, CreateInstanceDto } from '../instances/instance.dto';
import { InstanceCreationService } from '../instances/instance-creation.service';
import type { OdooVersion } from '../instances/instance-rules';
import { TenantAccessPolicy } from '../tenants/tenant-access';
import type { RestoreToNewInstanceDto } from './import.dto';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

class BackupNotRestorableError extends DomainError {
  constructor(status: string) {
    super(
      HttpStatus.CONFLICT,
      'BACKUP_NOT_COMPLETED',
      `Only completed backups can be restored (this one is ${status})`,
    );
  }
}

/**
 * A backup restored into a NEW instance of the same tenant (a staging copy): created like any instance (role,
 * plan ceilings, quota, billing), with the source's version, limits, addons and admin email, `staging` type,
 * and provisioned by the worker from the backup through the import path. The source is not touched.
 */
@Injectable()
export class StagingRestoreService {
  constructor(
    private readonly instances: InstancesRepository,
    private readonly backups: InstanceBackupsRepository,
    private readonly access: TenantAccessPolicy,
    private readonly creation: InstanceCreationService,
    private readonly random: RandomSource,
  ) {}

  async restoreToNew(
    user: AuthenticatedUser,
    instanceId: string,
    backupId: string,
    dto: RestoreToNewInstanceDto,
    requestId: string,
  ): Promise<CreatedInstanceResponseDto> {
    const source = await this.instances.getById(instanceId);
    await this.access.check(user, source.tenantId, 'instances:operate', 'Instance');
    if (!UUID.test(backupId)) throw new NotFoundError('Backup', 'BACKUP_NOT_FOUND');
    const backup = await this.backups.findForInstance(source.id, backupId.toLowerCase());
    if (!backup) throw new BackupNotFoundError();
    if (backup.status !== 'completed') throw new BackupNotRestorableError(backup.status);
    const create: CreateInstanceDto = {
      tenant_id: source.tenantId,
      name: dto.name,
      description: dto.description ?? `Staging copy of ${source.name} from backup ${backup.id}`,
      odoo_version: backup.odooVersion as OdooVersion,
      instance_type: 'staging',
      cpu_limit: source.cpuLimit,
      memory_limit: source.memoryLimit,
      storage_limit: source.storageLimit,
      admin_email: source.adminEmail,
      demo_data: false,
      database_name:
        dto.database_name ??
        `${source.databaseName.slice(0, 38).replace(/[-_]+$/, '')}_stg_${this.random.suffix(6)}`,
      subdomain: dto.subdomain,
      custom_addons: source.customAddons,
      disabled_modules: source.disabledModules,
      environment_vars: source.environmentVars,
    };
    return this.creation.create(user, create, requestId, {
      source: { kind: 'backup', backup_id: backup.id, source_instance_id: source.id },
      prepare: () => Promise.resolve(),
      abandon: () => Promise.resolve(),
    });
  }
}
