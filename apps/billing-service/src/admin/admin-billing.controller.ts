import { Body, Controller, Get, HttpCode, Inject, Param, ParseUUIDPipe, Post } from '@nestjs/common';
import {
  ApiCreatedResponse,
  ApiExtraModels,
  ApiOkResponse,
  ApiOperation,
  ApiProperty,
  ApiPropertyOptional,
  ApiTags,
  getSchemaPath,
} from '@nestjs/swagger';
import { IsNumber, IsOptional, IsPositive, IsString, Length } from 'class-validator';
import { AdminOnly } from '@app/auth';
import { APP_CONFIG } from '@app/config';
import { ApiErrors, JSON_BODY_ERRORS, NotFoundError, PARAM_ERRORS } from '@app/http';
import type { Config } from '../config/env';
import {
  BootstrapRun,
  BootstrapState,
  KillBillBootstrapService,
} from '../killbill/killbill-bootstrap.service';
import { KillBillClient } from '../killbill/killbill.client';
import { KillBillNotFoundError } from '../killbill/killbill.errors';
import { PlansService } from '../plans/plans.service';
import {
  ReconciliationReport,
  ReconciliationService,
  ReconciliationSkipped,
} from '../reconciliation/reconciliation.service';
import { BillingDisabledError } from '../subscriptions/subscriptions.service';
import { InboxProcessor } from '../webhooks/inbox-processor.service';
import { InboxCounts, InboxRepository } from '../webhooks/inbox.repository';

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

export class RequeueResult {
  @ApiProperty({ type: 'integer', description: 'Failed notifications put back in the queue' })
  requeued: number;
}

export class ExternalPaymentResult {
  @ApiProperty({ format: 'uuid' })
  invoice_id: string;
  @ApiProperty({
    type: 'string',
    nullable: true,
    description: 'Kill Bill payment id; null when nothing was due',
  })
  payment_id: string | null;
  @ApiProperty()
  paid: boolean;
}

const KILLBILL_ERRORS = { 502: ['KILLBILL_ERROR'], 503: ['DEPENDENCY_UNAVAILABLE'] } as const;

/** Operator routes (admin role). */
@ApiTags('admin')
@Controller('admin/billing')
@AdminOnly()
@ApiExtraModels(ReconciliationReport, ReconciliationSkipped)
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
  @ApiOkResponse({ type: BootstrapRun })
  @ApiErrors(KILLBILL_ERRORS, { 409: ['BILLING_DISABLED'] })
  async runBootstrap(): Promise<BootstrapRun> {
    if (this.config.BILLING_PROVIDER !== 'killbill') throw new BillingDisabledError();
    const report = await this.bootstrap.bootstrap();
    this.plans.invalidate();
    return { ...report, state: this.bootstrap.status() };
  }

  @Get('killbill/bootstrap')
  @ApiOperation({ summary: 'State of the Kill Bill bootstrap' })
  @ApiOkResponse({ type: BootstrapState })
  bootstrapState(): BootstrapState {
    return this.bootstrap.status();
  }

  @Post('reconcile')
  @HttpCode(200)
  @ApiOperation({ summary: 'Re-read every live subscription from Kill Bill and re-apply entitlements' })
  @ApiOkResponse({
    description: 'The report, or `skipped` when another replica is reconciling',
    schema: {
      oneOf: [{ $ref: getSchemaPath(ReconciliationReport) }, { $ref: getSchemaPath(ReconciliationSkipped) }],
    },
  })
  async reconcile(): Promise<ReconciliationReport | ReconciliationSkipped> {
    return (await this.reconciliation.run()) ?? { skipped: 'another replica is reconciling' };
  }

  @Get('inbox')
  @ApiOperation({ summary: 'Counts of stored Kill Bill notifications by status' })
  @ApiOkResponse({ type: InboxCounts })
  inboxCounts(): Promise<InboxCounts> {
    return this.inbox.counts();
  }

  @Post('inbox/requeue-failed')
  @HttpCode(200)
  @ApiOperation({ summary: 'Put the failed notifications back in the queue' })
  @ApiOkResponse({ type: RequeueResult })
  async requeueFailed(): Promise<RequeueResult> {
    const requeued = await this.inbox.requeueFailed();
    this.processor.kick();
    return { requeued };
  }

  @Post('invoices/:invoice_id/external-payments')
  @ApiOperation({ summary: 'Record a payment made outside Kill Bill on an invoice' })
  @ApiCreatedResponse({ type: ExternalPaymentResult })
  @ApiErrors(JSON_BODY_ERRORS, PARAM_ERRORS, KILLBILL_ERRORS, {
    404: ['NOT_FOUND'],
    409: ['BILLING_DISABLED'],
  })
  async externalPayment(
    @Param('invoice_id', new ParseUUIDPipe()) invoiceId: string,
    @Body() body: ExternalPaymentDto,
  ): Promise<ExternalPaymentResult> {
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
