import { HttpStatus, Injectable } from '@nestjs/common';
import type { AuthenticatedUser } from '@app/auth';
import { isReservedSubdomain } from '@app/contracts';
import { DependencyUnavailableError, DomainError, ValidationFailedError } from '@app/http';
import {
  BackupOffsiteCopiesRepository,
  InstanceBackupsRepository,
  InstancesRepository,
  type InstanceEntity,
} from '@app/instance-data';
import { InstanceLogsClient, InstanceLogsUnavailableError } from '@app/queue';
import { TenantAccessPolicy } from '../tenants/tenant-access';
import type {
  BackupListResponseDto,
  InstanceEventsResponseDto,
  InstanceListResponseDto,
  InstanceLogsDto,
  InstanceResponseDto,
  InstanceStatusDto,
  ListInstancesQueryDto,
  SubdomainAvailabilityDto,
} from './instance.dto';
import { backupView, eventView, instanceView, statusView } from './instance.views';
import { SUBDOMAIN_PATTERN } from './instance-rules';

const LOGS_TIMEOUT_MS = 5_000;

/** The read side of the public API. Every route checks the caller's membership first (404 otherwise). */
@Injectable()
export class InstanceQueriesService {
  constructor(
    private readonly instances: InstancesRepository,
    private readonly backupRows: InstanceBackupsRepository,
    private readonly offsiteCopies: BackupOffsiteCopiesRepository,
    private readonly access: TenantAccessPolicy,
    private readonly logsClient: InstanceLogsClient,
  ) {}

  private async readable(user: AuthenticatedUser, id: string): Promise<InstanceEntity> {
    const instance = await this.instances.getById(id);
    await this.access.check(user, instance.tenantId, 'instances:read', 'Instance');
    return instance;
  }

  /** Only the tenants the caller belongs to (admins: all); filters and paging in SQL. */
  async list(user: AuthenticatedUser, query: ListInstancesQueryDto): Promise<InstanceListResponseDto> {
    const page = query.page ?? 1;
    const pageSize = query.page_size ?? 10;
    const tenantIds = user.role === 'admin' ? undefined : await this.access.tenantIdsOf(user);
    const { items, total } = await this.instances.list({
      tenantIds,
      tenantId: query.tenant_id,
      status: query.status,
      page,
      pageSize,
    });
    return { instances: items.map(instanceView), total, page, page_size: pageSize };
  }

  async get(user: AuthenticatedUser, id: string): Promise<InstanceResponseDto> {
    return instanceView(await this.readable(user, id));
  }

  async status(user: AuthenticatedUser, id: string): Promise<InstanceStatusDto> {
    return statusView(await this.readable(user, id));
  }

  async events(user: AuthenticatedUser, id: string, limit: number): Promise<InstanceEventsResponseDto> {
    const instance = await this.readable(user, id);
    const events = await this.instances.listEvents(instance.id, { limit, order: 'desc' });
    return { instance_id: instance.id, events: events.map(eventView) };
  }

  async backups(user: AuthenticatedUser, id: string): Promise<BackupListResponseDto> {
    const instance = await this.readable(user, id);
    const backups = await this.backupRows.listForInstance(instance.id);
    const offsite = await this.offsiteCopies.uploadedAt(backups.map((backup) => backup.id));
    return {
      instance_id: instance.id,
      instance_name: instance.name,
      backups: backups.map((backup) => backupView(backup, offsite.get(backup.id) ?? null)),
      total_backups: backups.length,
    };
  }

  /** The container's log tail, read by a worker (the API has no Docker access). */
  async logs(user: AuthenticatedUser, id: string, lines: number): Promise<InstanceLogsDto> {
    const instance = await this.readable(user, id);
    if (!instance.containerName) {
      throw new DomainError(HttpStatus.CONFLICT, 'NO_CONTAINER', 'The instance has no container (yet)');
    }
    let answer;
    try {
      answer = await this.logsClient.fetch(instance.id, lines, LOGS_TIMEOUT_MS);
    } catch (error) {
      if (error instanceof InstanceLogsUnavailableError) {
        throw new DependencyUnavailableError(
          'instance-worker',
          'No instance worker answered; try again shortly',
        );
      }
      throw new DependencyUnavailableError('redis', 'The log request could not be sent; try again shortly');
    }
    if (!answer.ok) {
      if (answer.code === 'CONTAINER_MISSING') {
        throw new DomainError(
          HttpStatus.CONFLICT,
          'CONTAINER_MISSING',
          'The container of the instance is missing',
        );
      }
      if (answer.code === 'INSTANCE_NOT_FOUND') {
        throw new DomainError(HttpStatus.CONFLICT, 'NO_CONTAINER', 'The instance has no container (yet)');
      }
      throw new DomainError(HttpStatus.BAD_GATEWAY, 'LOGS_UNAVAILABLE', 'The worker could not read the logs');
    }
    const text = answer.logs.endsWith('\n') ? answer.logs.slice(0, -1) : answer.logs;
    const logLines = text.length ? text.split('\n') : [];
    return {
      instance_id: instance.id,
      container_name: answer.container_name,
      lines: logLines.length,
      logs: logLines,
    };
  }

  /** Free among live instances? A malformed name is a 400; a reserved one is simply not available. */
  async checkSubdomain(raw: string): Promise<SubdomainAvailabilityDto> {
    const subdomain = raw.trim().toLowerCase();
    if (!SUBDOMAIN_PATTERN.test(subdomain)) {
      const problem = 'subdomain must be 3–50 letters, digits or "-", not starting or ending with "-"';
      throw new ValidationFailedError(problem, [{ field: 'subdomain', problems: [problem] }]);
    }
    if (isReservedSubdomain(subdomain)) return { subdomain, available: false, message: 'Reserved' };
    const available = await this.instances.isSubdomainAvailable(subdomain);
    return { subdomain, available, message: available ? 'Available' : 'Already taken' };
  }
}
