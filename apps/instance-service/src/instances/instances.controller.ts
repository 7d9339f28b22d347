import { Body, Controller, Delete, Get, HttpCode, Param, Post, Put, Query, Req } from '@nestjs/common';
import {
  ApiAcceptedResponse,
  ApiCreatedResponse,
  ApiOkResponse,
  ApiOperation,
  ApiTags,
} from '@nestjs/swagger';
import { ApiErrors, JSON_BODY_ERRORS, QUERY_ERRORS } from '@app/http';
import type { FastifyRequest } from 'fastify';
import { Authenticated, CurrentUser } from '@app/auth';
import type { AuthenticatedUser } from '@app/auth';
import { BackupDownloadLinkDto, BackupDownloadLinks } from './backup-download-links';
import { InstanceIdPipe } from './instance-id.pipe';
import {
  ActionAcceptedDto,
  BackupListResponseDto,
  CreatedInstanceResponseDto,
  CreateInstanceDto,
  EventsQueryDto,
  InstanceActionDto,
  InstanceEventsResponseDto,
  InstanceListResponseDto,
  InstanceLogsDto,
  InstanceResponseDto,
  InstanceStatusDto,
  ListInstancesQueryDto,
  LogsQueryDto,
  SubdomainAvailabilityDto,
  UpdateInstanceDto,
} from './instance.dto';
import { InstanceActionsService } from './instance-actions.service';
import { InstanceQueriesService } from './instance-queries.service';
import { InstanceCreationService } from './instance-creation.service';
import { InstanceUpdatesService } from './instance-updates.service';

/** No such instance, or not one of a tenant you belong to (an id that is not a UUID included). */
const INSTANCE_NOT_FOUND = { 404: ['INSTANCE_NOT_FOUND', 'NOT_FOUND'] } as const;
/** A role that may read but not change: TENANT_ROLE_FORBIDDEN (viewers). */
const ROLE_FORBIDDEN = { 403: ['TENANT_ROLE_FORBIDDEN'] } as const;

/** The public instance API (DESIGN.md, instance-service). Another customer's instance is always a 404. */
@ApiTags('instances')
@Controller('api/v1/instances')
@Authenticated()
export class InstancesController {
  constructor(
    private readonly creation: InstanceCreationService,
    private readonly updates: InstanceUpdatesService,
    private readonly actions: InstanceActionsService,
    private readonly queries: InstanceQueriesService,
    private readonly downloads: BackupDownloadLinks,
  ) {}

  @Post()
  @ApiOperation({
    summary: 'Create an instance',
    description:
      'Owners and admins of the tenant may create. The Odoo admin password is generated and returned in this ' +
      'response only. With BILLING_PROVIDER=none provisioning starts at once; with killbill the instance stays ' +
      'pending until billing entitles it.',
  })
  @ApiCreatedResponse({ type: CreatedInstanceResponseDto })
  // 409: with a plan_name, billing-service's refusal passes through with its own code.
  @ApiErrors(JSON_BODY_ERRORS, ROLE_FORBIDDEN, {
    400: ['UNKNOWN_PLAN'],
    404: ['NOT_FOUND'],
    409: [
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
    ],
  })
  create(
    @CurrentUser() user: AuthenticatedUser,
    @Body() dto: CreateInstanceDto,
    @Req() request: FastifyRequest,
  ) {
    return this.creation.create(user, dto, String(request.id));
  }

  @Get()
  @ApiOperation({ summary: 'List the instances of your tenants (admins: all), filtered and paged' })
  @ApiOkResponse({ type: InstanceListResponseDto })
  @ApiErrors(QUERY_ERRORS)
  list(@CurrentUser() user: AuthenticatedUser, @Query() query: ListInstancesQueryDto) {
    return this.queries.list(user, query);
  }

  @Get('check-subdomain/:subdomain')
  @ApiOperation({ summary: 'Is this subdomain free among live instances?' })
  @ApiOkResponse({ type: SubdomainAvailabilityDto })
  @ApiErrors({ 400: ['VALIDATION_FAILED'] })
  checkSubdomain(@Param('subdomain') subdomain: string) {
    return this.queries.checkSubdomain(subdomain);
  }

  @Get(':id')
  @ApiOperation({ summary: 'One instance (the admin password is never returned again)' })
  @ApiOkResponse({ type: InstanceResponseDto })
  @ApiErrors(INSTANCE_NOT_FOUND)
  get(@CurrentUser() user: AuthenticatedUser, @Param('id', InstanceIdPipe) id: string) {
    return this.queries.get(user, id);
  }

  @Put(':id')
  @ApiOperation({
    summary: 'Change name, description or resource limits',
    description:
      'A limit change is checked against the ceilings of the plan (409 PLAN_LIMIT_EXCEEDED) and applied to the container by a job.',
  })
  @ApiOkResponse({ type: InstanceResponseDto })
  @ApiErrors(JSON_BODY_ERRORS, ROLE_FORBIDDEN, INSTANCE_NOT_FOUND, {
    409: ['INSTANCE_TERMINATED', 'OPERATION_PENDING', 'INSTANCE_CHANGED', 'PLAN_LIMIT_EXCEEDED'],
  })
  update(
    @CurrentUser() user: AuthenticatedUser,
    @Param('id', InstanceIdPipe) id: string,
    @Body() dto: UpdateInstanceDto,
  ) {
    return this.updates.update(user, id, dto);
  }

  @Delete(':id')
  @HttpCode(202)
  @ApiOperation({ summary: 'Terminate the instance (the terminate action)' })
  @ApiAcceptedResponse({ type: ActionAcceptedDto })
  @ApiErrors(ROLE_FORBIDDEN, INSTANCE_NOT_FOUND, {
    409: [
      'ACTION_NOT_ALLOWED',
      'OPERATION_PENDING',
      'INSTANCE_CHANGED',
      'SUSPENDED_BY_BILLING',
      'SUSPENDED_BY_ADMIN',
      'TENANT_SUSPENDED',
      'STORAGE_LIMIT_EXCEEDED',
    ],
  })
  remove(@CurrentUser() user: AuthenticatedUser, @Param('id', InstanceIdPipe) id: string) {
    return this.actions.perform(user, id, { action: 'terminate', parameters: {} });
  }

  @Post(':id/actions')
  @HttpCode(202)
  @ApiOperation({
    summary: 'Queue a lifecycle action',
    description:
      'Answers 409 with the allowed actions in `details` when the current status does not allow it.',
  })
  @ApiAcceptedResponse({ type: ActionAcceptedDto })
  @ApiErrors(JSON_BODY_ERRORS, ROLE_FORBIDDEN, INSTANCE_NOT_FOUND, {
    404: ['BACKUP_NOT_FOUND'],
    429: ['BACKUP_DAILY_LIMIT'],
    503: ['DEPENDENCY_UNAVAILABLE'],
    409: [
      'INSTANCE_PURGED',
      'QUOTA_EXCEEDED',
      'ACTION_NOT_ALLOWED',
      'OPERATION_PENDING',
      'INSTANCE_CHANGED',
      'SUSPENDED_BY_BILLING',
      'SUSPENDED_BY_ADMIN',
      'TENANT_SUSPENDED',
      'STORAGE_LIMIT_EXCEEDED',
    ],
  })
  act(
    @CurrentUser() user: AuthenticatedUser,
    @Param('id', InstanceIdPipe) id: string,
    @Body() dto: InstanceActionDto,
  ) {
    return this.actions.perform(user, id, { action: dto.action, parameters: dto.parameters ?? {} });
  }

  @Get(':id/status')
  @ApiOperation({ summary: 'Observed and desired state, with the actions allowed now' })
  @ApiOkResponse({ type: InstanceStatusDto })
  @ApiErrors(INSTANCE_NOT_FOUND)
  status(@CurrentUser() user: AuthenticatedUser, @Param('id', InstanceIdPipe) id: string) {
    return this.queries.status(user, id);
  }

  @Get(':id/events')
  @ApiOperation({ summary: 'Status history: every change with its time, actor and reason (newest first)' })
  @ApiOkResponse({ type: InstanceEventsResponseDto })
  @ApiErrors(QUERY_ERRORS, INSTANCE_NOT_FOUND)
  events(
    @CurrentUser() user: AuthenticatedUser,
    @Param('id', InstanceIdPipe) id: string,
    @Query() query: EventsQueryDto,
  ) {
    return this.queries.events(user, id, query.limit ?? 100);
  }

  @Get(':id/backups')
  @ApiOperation({ summary: 'Backups of the instance (newest first)' })
  @ApiOkResponse({ type: BackupListResponseDto })
  @ApiErrors(INSTANCE_NOT_FOUND)
  backups(@CurrentUser() user: AuthenticatedUser, @Param('id', InstanceIdPipe) id: string) {
    return this.queries.backups(user, id);
  }

  @Get(':id/backups/:backup_id/download')
  @ApiOperation({
    summary: 'A short-lived signed link to download the backup',
    description:
      "The link streams the backup as a zip in Odoo's own format (dump.sql, filestore/, manifest.json), which " +
      'restores in any Odoo database manager. Valid for BACKUP_DOWNLOAD_TTL_SECONDS; the link is the credential.',
  })
  @ApiOkResponse({ type: BackupDownloadLinkDto })
  @ApiErrors(ROLE_FORBIDDEN, INSTANCE_NOT_FOUND, {
    404: ['BACKUP_NOT_FOUND'],
    409: ['BACKUP_NOT_COMPLETED'],
    503: ['DOWNLOADS_DISABLED'],
  })
  download(
    @CurrentUser() user: AuthenticatedUser,
    @Param('id', InstanceIdPipe) id: string,
    @Param('backup_id') backupId: string,
  ) {
    return this.downloads.link(user, id, backupId);
  }

  @Get(':id/logs')
  @ApiOperation({ summary: "The tail of the container's log" })
  @ApiOkResponse({ type: InstanceLogsDto })
  @ApiErrors(QUERY_ERRORS, INSTANCE_NOT_FOUND, {
    409: ['NO_CONTAINER', 'CONTAINER_MISSING'],
    502: ['LOGS_UNAVAILABLE'],
    503: ['DEPENDENCY_UNAVAILABLE'],
  })
  logs(
    @CurrentUser() user: AuthenticatedUser,
    @Param('id', InstanceIdPipe) id: string,
    @Query() query: LogsQueryDto,
  ) {
    return this.queries.logs(user, id, query.lines ?? 100);
  }
}
