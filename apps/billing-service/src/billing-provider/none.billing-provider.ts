import { randomUUID } from 'node:crypto';
import type { Config } from '../config/env';
import type { BootstrapRun, BootstrapState } from '../killbill/killbill-bootstrap.service';
import type { KbInvoice } from '../killbill/killbill.types';
import { BillingAccountsRepository } from '../records/billing-accounts.repository';
import { SubscriptionsRepository } from '../records/subscriptions.repository';
import {
  BillingDisabledError,
  BillingProvider,
  CreatedSubscription,
  CreateSubscriptionCommand,
  PlanChoice,
} from './billing-provider';

/**
 * No billing engine (self-hosting): an instance is entitled at once on a local subscription, there are no
 * invoices and no account balance, and an operation that needs an engine answers BILLING_DISABLED.
 */
export class NoneBillingProvider extends BillingProvider {
  readonly name = 'none';
  readonly reconciles = false;

  constructor(
    private readonly config: Config,
    private readonly accounts: BillingAccountsRepository,
    private readonly subscriptions: SubscriptionsRepository,
  ) {
    super();
  }

  catalog(): Promise<null> {
    return Promise.resolve(null);
  }

  async createSubscription(
    command: CreateSubscriptionCommand,
    plan: PlanChoice,
  ): Promise<CreatedSubscription> {
    await this.accounts.ensureLocal(command.tenantId, command.customerId, this.config.KILLBILL_CURRENCY);
    const { subscription, inserted } = await this.subscriptions.insertOnce({
      id: randomUUID(),
      instanceId: command.instanceId,
      tenantId: command.tenantId,
      createdBy: command.customerId,
      provider: 'none',
      kbAccountId: null,
      kbBundleId: null,
      planName: plan.name,
      phaseType: null,
      kbState: 'ACTIVE',
      trialEndsAt: null,
      entitlement: 'running',
    });
    return { subscription, created: inserted, accountId: null };
  }

  manages(): boolean {
    return false;
  }

  cancelSubscription(): Promise<void> {
    return Promise.reject(new BillingDisabledError());
  }

  uncancelSubscription(): Promise<void> {
    return Promise.reject(new BillingDisabledError());
  }

  changePlan(): Promise<void> {
    return Promise.reject(new BillingDisabledError());
  }

  accountInvoices(): Promise<KbInvoice[]> {
    return Promise.resolve([]);
  }

  accountState(): Promise<null> {
    return Promise.resolve(null);
  }

  bootstrap(): Promise<BootstrapRun> {
    return Promise.reject(new BillingDisabledError());
  }

  bootstrapStatus(): BootstrapState {
    return { status: 'disabled', attempts: 0, last_error: null, completed_at: null };
  }

  health(): Promise<Record<string, unknown>> {
    return Promise.resolve({ provider: 'none' });
  }
}
