import {
  Body,
  Controller,
  Delete,
  Get,
  HttpCode,
  Param,
  ParseUUIDPipe,
  Post,
  Put,
  Query,
} from '@nestjs/common';
import {
  ApiCreatedResponse,
  ApiNoContentResponse,
  ApiOkResponse,
  ApiOperation,
  ApiTags,
} from '@nestjs/swagger';
import { ApiErrors, JSON_BODY_ERRORS, PARAM_ERRORS, QUERY_ERRORS } from '@app/http';
import { Authenticated, CurrentUser } from '@app/auth';
import type { AuthenticatedUser } from '@app/auth';
import {
  CreateTenantDto,
  InviteMemberDto,
  PageQueryDto,
  TransferOwnershipDto,
  UpdateMemberDto,
  UpdateTenantDto,
} from './tenant.dto';
import { TenantsService } from './tenants.service';
import {
  CustomerStats,
  MemberList,
  MemberView,
  SubdomainCheck,
  TenantPage,
  TenantView,
} from './tenant.views';

/** A tenant the caller is not a member of is a 404 (NOT_FOUND); a role too weak for the route is a 403. */
const TENANT_ACCESS = { 400: ['BAD_REQUEST'], 403: ['TENANT_ROLE_FORBIDDEN'], 404: ['NOT_FOUND'] } as const;

const uuid = new ParseUUIDPipe({ version: '4' });

@ApiTags('tenants')
@Authenticated()
@Controller('api/v1/tenants')
export class TenantsController {
  constructor(private readonly tenants: TenantsService) {}

  @Post()
  @ApiOperation({ summary: 'Create a tenant; the caller becomes its owner' })
  @ApiCreatedResponse({ type: TenantView })
  @ApiErrors(JSON_BODY_ERRORS, {
    403: ['PLAN_NOT_SELF_SERVICE'],
    409: ['SUBDOMAIN_TAKEN', 'TENANT_LIMIT_REACHED'],
  })
  create(@CurrentUser() user: AuthenticatedUser, @Body() body: CreateTenantDto) {
    return this.tenants.create(user, body);
  }

  @Get()
  @ApiOperation({ summary: 'Tenants I belong to' })
  @ApiOkResponse({ type: TenantPage })
  @ApiErrors(QUERY_ERRORS)
  list(@CurrentUser() user: AuthenticatedUser, @Query() query: PageQueryDto) {
    return this.tenants.listMine(user, query.page, query.page_size);
  }

  @Get('check-subdomain/:subdomain')
  @ApiOperation({ summary: 'Is this subdomain valid and free for a new tenant?' })
  @ApiOkResponse({ type: SubdomainCheck })
  checkSubdomain(@Param('subdomain') subdomain: string) {
    return this.tenants.checkSubdomain(subdomain);
  }

  @Get('customer/:customerId/stats')
  @ApiOperation({ summary: 'Tenants owned, instances by status and quota use (own, or any for admins)' })
  @ApiOkResponse({ type: CustomerStats })
  @ApiErrors(PARAM_ERRORS, { 404: ['NOT_FOUND'] })
  stats(@CurrentUser() user: AuthenticatedUser, @Param('customerId', uuid) customerId: string) {
    return this.tenants.customerStats(user, customerId);
  }

  @Get(':id')
  @ApiOperation({ summary: 'One tenant, with my role and the quota use' })
  @ApiOkResponse({ type: TenantView })
  @ApiErrors(TENANT_ACCESS)
  get(@CurrentUser() user: AuthenticatedUser, @Param('id', uuid) id: string) {
    return this.tenants.get(user, id);
  }

  @Put(':id')
  @ApiOperation({ summary: 'Rename or change plan (owners and admins)' })
  @ApiOkResponse({ type: TenantView })
  @ApiErrors(JSON_BODY_ERRORS, TENANT_ACCESS, { 403: ['PLAN_NOT_SELF_SERVICE'], 409: ['PLAN_TOO_SMALL'] })
  update(
    @CurrentUser() user: AuthenticatedUser,
    @Param('id', uuid) id: string,
    @Body() body: UpdateTenantDto,
  ) {
    return this.tenants.update(user, id, body);
  }

  @Delete(':id')
  @HttpCode(204)
  @ApiOperation({ summary: 'Soft delete; 409 while the tenant has instances that are not terminated' })
  @ApiNoContentResponse({ description: 'Deleted' })
  @ApiErrors(TENANT_ACCESS, { 409: ['TENANT_HAS_INSTANCES'], 503: ['DEPENDENCY_UNAVAILABLE'] })
  async remove(@CurrentUser() user: AuthenticatedUser, @Param('id', uuid) id: string) {
    await this.tenants.remove(user, id);
  }

  @Get(':id/members')
  @ApiOperation({ summary: 'Members of the tenant with their roles' })
  @ApiOkResponse({ type: MemberList })
  @ApiErrors(TENANT_ACCESS)
  members(@CurrentUser() user: AuthenticatedUser, @Param('id', uuid) id: string) {
    return this.tenants.listMembers(user, id);
  }

  @Post(':id/members')
  @ApiOperation({ summary: 'Invite an existing user by email as admin or viewer (owner only)' })
  @ApiCreatedResponse({ type: MemberView })
  @ApiErrors(JSON_BODY_ERRORS, TENANT_ACCESS, {
    404: ['USER_NOT_FOUND'],
    409: ['ALREADY_MEMBER'],
    503: ['DEPENDENCY_UNAVAILABLE'],
  })
  invite(
    @CurrentUser() user: AuthenticatedUser,
    @Param('id', uuid) id: string,
    @Body() body: InviteMemberDto,
  ) {
    return this.tenants.invite(user, id, body.email, body.role);
  }

  @Put(':id/members/:userId')
  @ApiOperation({ summary: "Change a member's role (owner only)" })
  @ApiOkResponse({ type: MemberView })
  @ApiErrors(JSON_BODY_ERRORS, TENANT_ACCESS, { 409: ['OWNER_ROLE_FIXED'] })
  changeRole(
    @CurrentUser() user: AuthenticatedUser,
    @Param('id', uuid) id: string,
    @Param('userId', uuid) userId: string,
    @Body() body: UpdateMemberDto,
  ) {
    return this.tenants.changeRole(user, id, userId, body.role);
  }

  @Delete(':id/members/:userId')
  @HttpCode(204)
  @ApiOperation({ summary: 'Remove a member (owner only)' })
  @ApiNoContentResponse({ description: 'Removed' })
  @ApiErrors(TENANT_ACCESS, { 409: ['OWNER_CANNOT_LEAVE'] })
  async removeMember(
    @CurrentUser() user: AuthenticatedUser,
    @Param('id', uuid) id: string,
    @Param('userId', uuid) userId: string,
  ) {
    await this.tenants.removeMember(user, id, userId);
  }

  @Post(':id/transfer-ownership')
  @ApiOperation({ summary: 'Make another member the owner; the old owner becomes an admin' })
  @ApiCreatedResponse({ type: TenantView })
  @ApiErrors(JSON_BODY_ERRORS, TENANT_ACCESS)
  transfer(
    @CurrentUser() user: AuthenticatedUser,
    @Param('id', uuid) id: string,
    @Body() body: TransferOwnershipDto,
  ) {
    return this.tenants.transferOwnership(user, id, body.user_id);
  }
}
