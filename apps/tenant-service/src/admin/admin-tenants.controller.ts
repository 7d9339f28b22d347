import { Body, Controller, Get, Param, ParseUUIDPipe, Post, Put, Query } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
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
  list(@Query() query: AdminTenantQueryDto) {
    return this.tenants.adminList(query.page, query.page_size, query.search);
  }

  @Post(':id/suspend')
  suspend(@Param('id', uuid) id: string, @Body() body: ReasonDto) {
    return this.tenants.setSuspended(id, true, body.reason ?? 'suspended by an administrator');
  }

  @Post(':id/activate')
  activate(@Param('id', uuid) id: string, @Body() body: ReasonDto) {
    return this.tenants.setSuspended(id, false, body.reason ?? 'activated by an administrator');
  }

  @Put(':id/quota')
  quota(@Param('id', uuid) id: string, @Body() body: QuotaOverrideDto) {
    return this.tenants.setQuotaOverride(id, body.max_instances);
  }
}
