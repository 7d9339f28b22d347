import { Controller, Get, HttpCode, Inject, Post } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import { AdminOnly } from '@app/auth';
import { APP_CONFIG } from '@app/config';
import type { Config } from '../config/env';
import { KillBillBootstrapService } from '../killbill/killbill-bootstrap.service';
import { PlansService } from '../plans/plans.service';
import { ReconciliationService } from '../reconciliation/reconciliation.service';
import { BillingDisabledError } from '../subscriptions/subscriptions.service';
import { InboxProcessor } from '../webhooks/inbox-processor.service';
import { InboxRepository } from '../webhooks/inbox.repository';

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
}
