import { Body, Controller, Get, Param, ParseUUIDPipe, Post, Put, Query } from '@nestjs/common';
import { ApiCreatedResponse, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { ApiErrors, JSON_BODY_ERRORS, PARAM_ERRORS, QUERY_ERRORS } from '@app/http';
import { TenantPage, TenantSuspension, TenantView } from '../tenants/tenant.views';
import { AdminOnly } from '@app/auth';
import { AdminTenantQueryDto, QuotaOverrideDto, ReasonDto } from '../tenants/tenant.dto';
import { TenantsService } from '../tenants/tenants.service';

const uuid = new ParseUUIDPipe();

@ApiTags('admin')
@AdminOnly()
@Controller('admin/tenants')
export class AdminTenantsController {
  constructor(private readonly tenants: TenantsService) {}

  @Get()
  @ApiOperation({ summary: 'Every tenant, paged and searchable' })
  @ApiOkResponse({ type: TenantPage })
  @ApiErrors(QUERY_ERRORS)
  list(@Query() query: AdminTenantQueryDto) {
    return this.tenants.adminList(query.page, query.page_size, query.search);
  }

  @Post(':id/suspend')
  @ApiOperation({ summary: 'Suspend the tenant and its instances (instances first: nothing changes on 503)' })
  @ApiCreatedResponse({ type: TenantSuspension })
  @ApiErrors(JSON_BODY_ERRORS, PARAM_ERRORS, { 404: ['NOT_FOUND'], 503: ['DEPENDENCY_UNAVAILABLE'] })
  suspend(@Param('id', uuid) id: string, @Body() body: ReasonDto) {
    return this.tenants.setSuspended(id, true, body.reason ?? 'suspended by an administrator');
  }

  @Post(':id/activate')
  @ApiOperation({ summary: 'Activate the tenant and resume its instances' })
  @ApiCreatedResponse({ type: TenantSuspension })
  @ApiErrors(JSON_BODY_ERRORS, PARAM_ERRORS, { 404: ['NOT_FOUND'], 503: ['DEPENDENCY_UNAVAILABLE'] })
  activate(@Param('id', uuid) id: string, @Body() body: ReasonDto) {
    return this.tenants.setSuspended(id, false, body.reason ?? 'activated by an administrator');
  }

  @Put(':id/quota')
  @ApiOperation({ summary: 'Override the instance quota of the plan (null restores it)' })
  @ApiOkResponse({ type: TenantView })
  @ApiErrors(JSON_BODY_ERRORS, PARAM_ERRORS, { 404: ['NOT_FOUND'] })
  quota(@Param('id', uuid) id: string, @Body() body: QuotaOverrideDto) {
    return this.tenants.setQuotaOverride(id, body.max_instances);
  }
}
