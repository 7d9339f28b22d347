import { Controller, Get, Query } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { ApiErrors, QUERY_ERRORS } from '@app/http';
import { Authenticated, CurrentUser } from '@app/auth';
import type { AuthenticatedUser } from '@app/auth';
import { TenantFilterDto } from '../subscriptions/subscriptions.dto';
import { InvoiceList, InvoicesService } from './invoices.service';

@ApiTags('billing')
@Controller('api/billing/invoices')
@Authenticated()
export class InvoicesController {
  constructor(private readonly invoices: InvoicesService) {}

  @Get()
  @ApiOperation({ summary: "Invoices of my tenants' billing accounts, newest first" })
  @ApiOkResponse({ type: InvoiceList })
  @ApiErrors(QUERY_ERRORS, { 404: ['NOT_FOUND'], 502: ['KILLBILL_ERROR'], 503: ['DEPENDENCY_UNAVAILABLE'] })
  async list(@CurrentUser() user: AuthenticatedUser, @Query() query: TenantFilterDto): Promise<InvoiceList> {
    const invoices = await this.invoices.list(user, query.tenant_id);
    return { invoices, total: invoices.length };
  }
}
