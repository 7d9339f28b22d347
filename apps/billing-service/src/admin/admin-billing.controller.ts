import { Controller, Get, HttpCode, Post } from '@nestjs/common';
import {
  ApiExtraModels,
  ApiOkResponse,
  ApiOperation,
  ApiProperty,
  ApiTags,
  getSchemaPath,
} from '@nestjs/swagger';
import { AdminOnly } from '@app/auth';
import { ApiErrors } from '@app/http';
import { BillingProvider } from '../billing-provider/billing-provider';
import { BootstrapRun, BootstrapState } from '../killbill/killbill-bootstrap.service';
import {
  ReconciliationReport,
  ReconciliationService,
  ReconciliationSkipped,
} from '../reconciliation/reconciliation.service';
import { InboxProcessor } from '../webhooks/inbox-processor.service';
import { InboxCounts, InboxRepository } from '../webhooks/inbox.repository';

/** Operator routes (admin role). */
export class RequeueResult {
  @ApiProperty({ type: 'integer', description: 'Failed notifications put back in the queue' })
  requeued: number;
}

const KILLBILL_ERRORS = { 502: ['KILLBILL_ERROR'], 503: ['DEPENDENCY_UNAVAILABLE'] } as const;

@ApiTags('admin')
@Controller('admin/billing')
@AdminOnly()
@ApiExtraModels(ReconciliationReport, ReconciliationSkipped)
export class AdminBillingController {
  constructor(
    private readonly provider: BillingProvider,
    private readonly reconciliation: ReconciliationService,
    private readonly inbox: InboxRepository,
    private readonly processor: InboxProcessor,
  ) {}

  @Post('killbill/bootstrap')
  @HttpCode(200)
  @ApiOperation({ summary: 'Create the tenant, upload catalog/overdue and register the callback if needed' })
  @ApiOkResponse({ type: BootstrapRun })
  @ApiErrors(KILLBILL_ERRORS, { 409: ['BILLING_DISABLED'] })
  runBootstrap(): Promise<BootstrapRun> {
    return this.provider.bootstrap();
  }

  @Get('killbill/bootstrap')
  @ApiOperation({ summary: 'State of the Kill Bill bootstrap' })
  @ApiOkResponse({ type: BootstrapState })
  bootstrapState(): BootstrapState {
    return this.provider.bootstrapStatus();
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
}
