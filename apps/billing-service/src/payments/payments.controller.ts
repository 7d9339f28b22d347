import { Body, Controller, Get, Param, ParseUUIDPipe, Post, Query } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import { AdminOnly, Authenticated, CurrentUser } from '@app/auth';
import type { AuthenticatedUser } from '@app/auth';
import {
  AdminPaymentFilterDto,
  CreatePaymentDto,
  ExternalPaymentDto,
  PaymentFilterDto,
} from './payments.dto';
import { PaymentsService } from './payments.service';

@ApiTags('billing')
@Controller('api/billing/payments')
@Authenticated()
export class PaymentsController {
  constructor(private readonly payments: PaymentsService) {}

  @Post()
  @ApiOperation({
    summary: 'Pay an invoice (its balance) with EcoCash, OneMoney, InnBucks, PayGo or a card through PayNow',
  })
  start(@CurrentUser() user: AuthenticatedUser, @Body() body: CreatePaymentDto) {
    return this.payments.start(user, { invoiceId: body.invoice_id, method: body.method, phone: body.phone });
  }

  @Get()
  @ApiOperation({ summary: "Payments of my tenants' invoices, newest first" })
  async list(@CurrentUser() user: AuthenticatedUser, @Query() query: PaymentFilterDto) {
    const payments = await this.payments.list(user, { tenantId: query.tenant_id, status: query.status });
    return { payments, total: payments.length };
  }

  @Get(':id')
  get(@CurrentUser() user: AuthenticatedUser, @Param('id', new ParseUUIDPipe()) id: string) {
    return this.payments.get(user, id);
  }
}

/** Operator routes (admin role). */
@ApiTags('admin')
@Controller('admin/billing')
@AdminOnly()
export class AdminPaymentsController {
  constructor(private readonly payments: PaymentsService) {}

  @Get('payments')
  @ApiOperation({ summary: 'Every payment, newest first (optionally one status)' })
  async list(@Query() query: AdminPaymentFilterDto) {
    const payments = await this.payments.listAll(query.status);
    return { payments, total: payments.length };
  }

  @Post('invoices/:invoice_id/external-payments')
  @ApiOperation({
    summary: 'Record a payment made outside the platform (recorded in Kill Bill exactly once)',
  })
  externalPayment(
    @CurrentUser() admin: AuthenticatedUser,
    @Param('invoice_id', new ParseUUIDPipe()) invoiceId: string,
    @Body() body: ExternalPaymentDto,
  ) {
    return this.payments.recordManual(
      invoiceId,
      { reference: body.reference, amount: body.amount },
      admin.id,
    );
  }
}
