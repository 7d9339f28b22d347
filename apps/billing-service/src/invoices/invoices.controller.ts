import { Controller, Get, Query } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import { Authenticated, CurrentUser } from '@app/auth';
import type { AuthenticatedUser } from '@app/auth';
import { TenantFilterDto } from '../subscriptions/subscriptions.dto';
import { InvoicesService } from './invoices.service';

@ApiTags('billing')
@Controller('api/billing/invoices')
@Authenticated()
export class InvoicesController {
  constructor(private readonly invoices: InvoicesService) {}

  @Get()
  @ApiOperation({ summary: "Invoices of my tenants' billing accounts, newest first" })
  async list(@CurrentUser() user: AuthenticatedUser, @Query() query: TenantFilterDto) {
    const invoices = await this.invoices.list(user, query.tenant_id);
    return { invoices, total: invoices.length };
  }
}
