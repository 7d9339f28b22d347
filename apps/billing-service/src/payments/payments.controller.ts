import { Body, Controller, Get, Param, ParseUUIDPipe, Post, Query } from '@nestjs/common';
import { ApiCreatedResponse, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { AdminOnly, Authenticated, CurrentUser } from '@app/auth';
import { ApiErrors, JSON_BODY_ERRORS, PARAM_ERRORS, QUERY_ERRORS } from '@app/http';
import { ManualPaymentResult, PaymentList, PaymentView } from './payment.views';
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
    description:
      "Owners and admins of the invoice's tenant may pay (a viewer gets 403, anyone else 404). The amount is the " +
      "invoice's balance read from Kill Bill. Mobile methods need `phone` and answer PayNow's `instructions`; a " +
      'card answers `redirect_url`. The status then follows PayNow (poll GET /api/billing/payments/{id}).',
  })
  @ApiCreatedResponse({ type: PaymentView })
  @ApiErrors(JSON_BODY_ERRORS, {
    402: ['PAYMENT_DECLINED'],
    403: ['TENANT_ROLE_REQUIRED'],
    404: ['NOT_FOUND'],
    409: ['PAYMENT_PENDING', 'INVOICE_NOT_DUE', 'PAYMENTS_DISABLED', 'BILLING_DISABLED'],
    422: ['PAYMENT_REFUSED'],
    502: ['KILLBILL_ERROR'],
    503: ['DEPENDENCY_UNAVAILABLE'],
  })
  start(@CurrentUser() user: AuthenticatedUser, @Body() body: CreatePaymentDto) {
    return this.payments.start(user, { invoiceId: body.invoice_id, method: body.method, phone: body.phone });
  }

  @Get()
  @ApiOperation({ summary: "Payments of my tenants' invoices, newest first" })
  @ApiOkResponse({ type: PaymentList })
  @ApiErrors(QUERY_ERRORS, { 404: ['NOT_FOUND'], 503: ['DEPENDENCY_UNAVAILABLE'] })
  async list(@CurrentUser() user: AuthenticatedUser, @Query() query: PaymentFilterDto) {
    const payments = await this.payments.list(user, { tenantId: query.tenant_id, status: query.status });
    return { payments, total: payments.length };
  }

  @Get(':id')
  @ApiOperation({ summary: "One payment of my tenants (another customer's is a 404)" })
  @ApiOkResponse({ type: PaymentView })
  @ApiErrors(PARAM_ERRORS, { 404: ['NOT_FOUND'], 503: ['DEPENDENCY_UNAVAILABLE'] })
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
  @ApiOkResponse({ type: PaymentList })
  @ApiErrors(QUERY_ERRORS)
  async list(@Query() query: AdminPaymentFilterDto) {
    const payments = await this.payments.listAll(query.status);
    return { payments, total: payments.length };
  }

  @Post('invoices/:invoice_id/external-payments')
  @ApiOperation({
    summary: 'Record a payment made outside the platform (recorded in Kill Bill exactly once)',
  })
  @ApiCreatedResponse({ type: ManualPaymentResult })
  @ApiErrors(JSON_BODY_ERRORS, PARAM_ERRORS, {
    404: ['NOT_FOUND'],
    409: ['BILLING_DISABLED', 'PAYMENT_PENDING'],
    502: ['KILLBILL_ERROR'],
    503: ['DEPENDENCY_UNAVAILABLE'],
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
