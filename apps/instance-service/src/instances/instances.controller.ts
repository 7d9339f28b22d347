import { Body, Controller, Delete, Get, HttpCode, Param, Post, Put, Query, Req } from '@nestjs/common';
import {
  ApiAcceptedResponse,
  ApiBadRequestResponse,
  ApiConflictResponse,
  ApiCreatedResponse,
  ApiForbiddenResponse,
  ApiNotFoundResponse,
  ApiOkResponse,
  ApiOperation,
  ApiServiceUnavailableResponse,
  ApiTags,
  ApiUnauthorizedResponse,
} from '@nestjs/swagger';
import type { FastifyRequest } from 'fastify';
import { Authenticated, CurrentUser } from '@app/auth';
import type { AuthenticatedUser } from '@app/auth';
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

/** The public instance API (DESIGN.md, instance-service). Another customer's instance is always a 404. */
@ApiTags('instances')
@Controller('api/v1/instances')
@Authenticated()
@ApiUnauthorizedResponse({ description: 'No valid access token' })
@ApiNotFoundResponse({ description: 'No such instance, or not one of a tenant you belong to' })
export class InstancesController {
  constructor(
    private readonly creation: InstanceCreationService,
    private readonly updates: InstanceUpdatesService,
    private readonly actions: InstanceActionsService,
    private readonly queries: InstanceQueriesService,
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
  @ApiBadRequestResponse({ description: 'Validation failed (envelope with details per field)' })
  @ApiForbiddenResponse({ description: 'Your role in the tenant cannot create instances' })
  @ApiConflictResponse({
    description:
      "QUOTA_EXCEEDED, PLAN_LIMIT_EXCEEDED (limits above the plan; details name the ceiling), SUBDOMAIN_TAKEN, DATABASE_NAME_TAKEN, TENANT_SUSPENDED; with a plan_name, billing-service's refusal as it gave it (TRIAL_ALREADY_USED, ACCOUNT_OVERDUE, BILLING_DISABLED, …)",
  })
  @ApiServiceUnavailableResponse({
    description: 'tenant-service or billing-service unavailable; nothing created',
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
  list(@CurrentUser() user: AuthenticatedUser, @Query() query: ListInstancesQueryDto) {
    return this.queries.list(user, query);
  }

  @Get('check-subdomain/:subdomain')
  @ApiOperation({ summary: 'Is this subdomain free among live instances?' })
  @ApiOkResponse({ type: SubdomainAvailabilityDto })
  @ApiBadRequestResponse({ description: 'Not a valid subdomain' })
  checkSubdomain(@Param('subdomain') subdomain: string) {
    return this.queries.checkSubdomain(subdomain);
  }

  @Get(':id')
  @ApiOperation({ summary: 'One instance (the admin password is never returned again)' })
  @ApiOkResponse({ type: InstanceResponseDto })
  get(@CurrentUser() user: AuthenticatedUser, @Param('id', InstanceIdPipe) id: string) {
    return this.queries.get(user, id);
  }

  @Put(':id')
  @ApiOperation({
    summary: 'Change name, description or resource limits',
    description:
      'A limit change is checked against the caps of the instance type and applied to the container by a job.',
  })
  @ApiOkResponse({ type: InstanceResponseDto })
  @ApiBadRequestResponse({ description: 'Validation failed' })
  @ApiForbiddenResponse({ description: 'Viewers cannot change instances' })
  @ApiConflictResponse({ description: 'The instance is terminated' })
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
  @ApiForbiddenResponse({ description: 'Viewers cannot terminate' })
  @ApiConflictResponse({ description: 'Already terminating or terminated' })
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
  @ApiBadRequestResponse({ description: 'Unknown action or bad parameters' })
  @ApiForbiddenResponse({ description: 'Viewers cannot act on instances' })
  @ApiConflictResponse({ description: 'ACTION_NOT_ALLOWED in the current status' })
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
  status(@CurrentUser() user: AuthenticatedUser, @Param('id', InstanceIdPipe) id: string) {
    return this.queries.status(user, id);
  }

  @Get(':id/events')
  @ApiOperation({ summary: 'Status history: every change with its time, actor and reason (newest first)' })
  @ApiOkResponse({ type: InstanceEventsResponseDto })
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
  backups(@CurrentUser() user: AuthenticatedUser, @Param('id', InstanceIdPipe) id: string) {
    return this.queries.backups(user, id);
  }

  @Get(':id/logs')
  @ApiOperation({ summary: "The tail of the container's log" })
  @ApiOkResponse({ type: InstanceLogsDto })
  @ApiServiceUnavailableResponse({ description: 'The worker did not answer in time' })
  logs(
    @CurrentUser() user: AuthenticatedUser,
    @Param('id', InstanceIdPipe) id: string,
    @Query() query: LogsQueryDto,
  ) {
    return this.queries.logs(user, id, query.lines ?? 100);
  }
}
