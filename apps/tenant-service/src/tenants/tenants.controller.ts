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
import { ApiOperation, ApiTags } from '@nestjs/swagger';
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

const uuid = new ParseUUIDPipe({ version: '4' });

@ApiTags('tenants')
@Authenticated()
@Controller('api/v1/tenants')
export class TenantsController {
  constructor(private readonly tenants: TenantsService) {}

  @Post()
  @ApiOperation({ summary: 'Create a tenant; the caller becomes its owner' })
  create(@CurrentUser() user: AuthenticatedUser, @Body() body: CreateTenantDto) {
    return this.tenants.create(user, body);
  }

  @Get()
  @ApiOperation({ summary: 'Tenants I belong to' })
  list(@CurrentUser() user: AuthenticatedUser, @Query() query: PageQueryDto) {
    return this.tenants.listMine(user, query.page, query.page_size);
  }

  @Get('check-subdomain/:subdomain')
  checkSubdomain(@Param('subdomain') subdomain: string) {
    return this.tenants.checkSubdomain(subdomain);
  }

  @Get('customer/:customerId/stats')
  @ApiOperation({ summary: 'Tenants owned, instances by status and quota use (own, or any for admins)' })
  stats(@CurrentUser() user: AuthenticatedUser, @Param('customerId', uuid) customerId: string) {
    return this.tenants.customerStats(user, customerId);
  }

  @Get(':id')
  get(@CurrentUser() user: AuthenticatedUser, @Param('id', uuid) id: string) {
    return this.tenants.get(user, id);
  }

  @Put(':id')
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
  async remove(@CurrentUser() user: AuthenticatedUser, @Param('id', uuid) id: string) {
    await this.tenants.remove(user, id);
  }

  @Get(':id/members')
  members(@CurrentUser() user: AuthenticatedUser, @Param('id', uuid) id: string) {
    return this.tenants.listMembers(user, id);
  }

  @Post(':id/members')
  @ApiOperation({ summary: 'Invite an existing user by email as admin or viewer (owner only)' })
  invite(
    @CurrentUser() user: AuthenticatedUser,
    @Param('id', uuid) id: string,
    @Body() body: InviteMemberDto,
  ) {
    return this.tenants.invite(user, id, body.email, body.role);
  }

  @Put(':id/members/:userId')
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
  async removeMember(
    @CurrentUser() user: AuthenticatedUser,
    @Param('id', uuid) id: string,
    @Param('userId', uuid) userId: string,
  ) {
    await this.tenants.removeMember(user, id, userId);
  }

  @Post(':id/transfer-ownership')
  transfer(
    @CurrentUser() user: AuthenticatedUser,
    @Param('id', uuid) id: string,
    @Body() body: TransferOwnershipDto,
  ) {
    return this.tenants.transferOwnership(user, id, body.user_id);
  }
}
