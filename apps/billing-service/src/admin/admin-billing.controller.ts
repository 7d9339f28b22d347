import { Body, Controller, Get, HttpCode, Inject, Param, ParseUUIDPipe, Post } from '@nestjs/common';
import { ApiOperation, ApiProperty, ApiPropertyOptional, ApiTags } from '@nestjs/swagger';
import { IsNumber, IsOptional, IsPositive, IsString, Length } from 'class-validator';
import { AdminOnly } from '@app/auth';
import { APP_CONFIG } from '@app/config';
import { NotFoundError } from '@app/http';
import type { Config } from '../config/env';
import { KillBillBootstrapService } from '../killbill/killbill-bootstrap.service';
import { KillBillClient } from '../killbill/killbill.client';
import { KillBillNotFoundError } from '../killbill/killbill.errors';
import { PlansService } from '../plans/plans.service';
import { ReconciliationService } from '../reconciliation/reconciliation.service';
import { BillingDisabledError } from '../subscriptions/subscriptions.service';
import { InboxProcessor } from '../webhooks/inbox-processor.service';
import { InboxRepository } from '../webhooks/inbox.repository';

export class ExternalPaymentDto {
  @ApiPropertyOptional({ description: 'Amount paid (default: the invoice balance)', example: 5 })
  @IsOptional()
  @IsNumber({ maxDecimalPlaces: 2 })
  @IsPositive()
  amount?: number;

  @ApiProperty({ description: 'Reference of the payment outside Kill Bill (makes a retry safe)' })
  @IsString()
  @Length(1, 128)
  reference: string;
}

/** Operator routes (admin role). */
@ApiTags('admin')
@Controller('admin/billing')
@AdminOnly()
export class AdminBillingController {
  constructor(
    @Inject(APP_CONFIG) private readonly config: Config,
    private readonly bootstrap: KillBillBootstrapService,
    private readonly plans: PlansService,
    private readonly reconciliation: ReconciliationService,
    private readonly inbox: InboxRepository,
    private readonly processor: InboxProcessor,
    private readonly killbill: KillBillClient,
  ) {}

  @Post('killbill/bootstrap')
  @HttpCode(200)
  @ApiOperation({ summary: 'Create the tenant, upload catalog/overdue and register the callback if needed' })
  async runBootstrap() {
    if (this.config.BILLING_PROVIDER !== 'killbill') throw new BillingDisabledError();
    const report = await this.bootstrap.bootstrap();
    this.plans.invalidate();
    return { ...report, state: this.bootstrap.status() };
  }

  @Get('killbill/bootstrap')
  bootstrapState() {
    return this.bootstrap.status();
  }

  @Post('reconcile')
  @HttpCode(200)
  @ApiOperation({ summary: 'Re-read every live subscription from Kill Bill and re-apply entitlements' })
  async reconcile() {
    return (await this.reconciliation.run()) ?? { skipped: 'another replica is reconciling' };
  }

  @Get('inbox')
  @ApiOperation({ summary: 'Counts of stored Kill Bill notifications by status' })
  inboxCounts() {
    return this.inbox.counts();
  }

  @Post('inbox/requeue-failed')
  @HttpCode(200)
  async requeueFailed() {
    const requeued = await this.inbox.requeueFailed();
    this.processor.kick();
    return { requeued };
  }

  @Post('invoices/:invoice_id/external-payments')
  @ApiOperation({ summary: 'Record a payment made outside Kill Bill on an invoice' })
  async externalPayment(
    @Param('invoice_id', new ParseUUIDPipe()) invoiceId: string,
    @Body() body: ExternalPaymentDto,
  ) {
    if (this.config.BILLING_PROVIDER !== 'killbill') throw new BillingDisabledError();
    const invoice = await this.killbill.getInvoice(invoiceId).catch((error: unknown) => {
      if (error instanceof KillBillNotFoundError) throw new NotFoundError('Invoice');
      throw error;
    });
    const paymentId = await this.killbill.createExternalPayment(invoiceId, {
      accountId: invoice.accountId,
      amount: body.amount ?? invoice.balance ?? undefined,
      paymentExternalKey: body.reference,
    });
    return { invoice_id: invoiceId, payment_id: paymentId, paid: paymentId !== null };
  }
}
