import { HttpStatus, Logger, OnApplicationBootstrap } from '@nestjs/common';
import { ConflictError, DomainError } from '@app/http';
import type { Config } from '../config/env';
import { entitlementOf } from '../killbill/entitlement';
import {
  BootstrapRun,
  BootstrapState,
  KillBillBootstrapService,
} from '../killbill/killbill-bootstrap.service';
import { KillBillClient } from '../killbill/killbill.client';
import {
  isOverdueBlocked,
  KB_ERROR_CODES,
  KillBillAuthError,
  KillBillBadRequestError,
  KillBillConflictError,
  KillBillError,
  KillBillNotFoundError,
} from '../killbill/killbill.errors';
import { CLEAR_OVERDUE_STATE, KbCatalog, KbInvoice, KbSubscription } from '../killbill/killbill.types';
import { BillingAccountsRepository } from '../records/billing-accounts.repository';
import { CustomerTrialsRepository } from '../records/customer-trials.repository';
import type { SubscriptionEntity } from '../records/subscription.entity';
import { SubscriptionsRepository } from '../records/subscriptions.repository';
import {
  AccountOverdueError,
  AccountState,
  BillingProvider,
  CreatedSubscription,
  CreateSubscriptionCommand,
  PlanChoice,
  TrialAlreadyUsedError,
} from './billing-provider';

const CATALOG_TTL_MS = 60_000;

type CreateStage = 'before_create' | 'creating' | 'created';

export interface KillBillProviderDeps {
  config: Config;
  killbill: KillBillClient;
  bootstrap: KillBillBootstrapService;
  accounts: BillingAccountsRepository;
  subscriptions: SubscriptionsRepository;
  trials: CustomerTrialsRepository;
}

/** Billing by Kill Bill: its catalog, accounts (externalKey = tenant id), subscriptions and invoices. */
export class KillBillBillingProvider extends BillingProvider implements OnApplicationBootstrap {
  readonly name = 'killbill';
  readonly reconciles = true;
  private readonly logger = new Logger('Subscriptions');
  private readonly config: Config;
  private readonly killbill: KillBillClient;
  private readonly bootstrapper: KillBillBootstrapService;
  private readonly accounts: BillingAccountsRepository;
  private readonly subscriptions: SubscriptionsRepository;
  private readonly trials: CustomerTrialsRepository;
  private cachedCatalog: { versions: KbCatalog[]; at: number } | null = null;

  constructor(deps: KillBillProviderDeps) {
    super();
    this.config = deps.config;
    this.killbill = deps.killbill;
    this.bootstrapper = deps.bootstrap;
    this.accounts = deps.accounts;
    this.subscriptions = deps.subscriptions;
    this.trials = deps.trials;
    this.bootstrapper.enable();
  }

  /** At start the bootstrap runs in the background with backoff until it succeeds. */
  onApplicationBootstrap(): void {
    this.bootstrapper.start();
  }

  async catalog(): Promise<KbCatalog[]> {
    const now = Date.now();
    if (this.cachedCatalog && now - this.cachedCatalog.at < CATALOG_TTL_MS)
      return this.cachedCatalog.versions;
    const versions = await this.killbill.getCatalog();
    this.cachedCatalog = { versions, at: now };
    return versions;
  }

  /**
   * One subscription per instance (bundle externalKey = instance id) on the tenant's account, idempotent on
   * the instance. A plan with a trial takes the customer's one trial for life first, whatever the tenant
   * (`customerId` is the tenant owner; a unique key, so two concurrent requests cannot both get one); if
   * Kill Bill certainly did not create the subscription, the trial is given back.
   */
  async createSubscription(
    command: CreateSubscriptionCommand,
    plan: PlanChoice,
  ): Promise<CreatedSubscription> {
    const useTrial = plan.trialLength > 0 && !command.skipTrial;
    if (
      useTrial &&
      !(await this.trials.claim(command.customerId, command.tenantId, command.instanceId, plan.name))
    ) {
      throw new TrialAlreadyUsedError();
    }
    let stage: CreateStage = 'before_create';
    try {
      const accountId = await this.ensureAccount(command.tenantId, command.customerId);
      let kbSubscription = await this.findKillBillSubscription(command.instanceId);
      if (!kbSubscription) {
        stage = 'creating';
        const id = await this.killbill.createSubscription({
          accountId,
          planName: plan.name,
          phaseType: plan.trialLength > 0 && !useTrial ? 'EVERGREEN' : undefined,
          bundleExternalKey: command.instanceId,
        });
        stage = 'created';
        kbSubscription = await this.killbill.getSubscription(id);
      }
      stage = 'created';
      if (kbSubscription.accountId !== accountId) {
        throw new ConflictError(
          'INSTANCE_BILLED_ELSEWHERE',
          "The instance's subscription belongs to another tenant's billing account",
        );
      }
      const { subscription, inserted } = await this.subscriptions.insertOnce({
        id: kbSubscription.subscriptionId,
        instanceId: command.instanceId,
        tenantId: command.tenantId,
        createdBy: command.customerId,
        provider: 'killbill',
        kbAccountId: accountId,
        kbBundleId: kbSubscription.bundleId,
        planName: kbSubscription.planName,
        phaseType: kbSubscription.phaseType ?? null,
        kbState: kbSubscription.state,
        trialEndsAt: null,
        entitlement: 'pending',
      });
      this.logger.log({
        msg: 'subscription created',
        subscription_id: subscription.id,
        instance_id: command.instanceId,
        tenant_id: command.tenantId,
        plan: plan.name,
        trial: useTrial,
      });
      return { subscription, created: inserted, accountId };
    } catch (error) {
      if (useTrial && this.certainlyNotCreated(stage, error)) {
        await this.trials.release(command.customerId, command.instanceId);
      }
      throw this.translate(error);
    }
  }

  manages(row: SubscriptionEntity): boolean {
    return row.provider === 'killbill';
  }

  async cancelSubscription(subscriptionId: string): Promise<void> {
    try {
      await this.killbill.cancelSubscription(subscriptionId, {
        entitlementPolicy: 'END_OF_TERM',
        billingPolicy: 'END_OF_TERM',
      });
    } catch (error) {
      if (error instanceof KillBillError && error.failure.code === KB_ERROR_CODES.SUB_CANCEL_BAD_STATE) {
        throw new ConflictError('SUBSCRIPTION_ENDED', 'The subscription has already ended');
      }
      throw this.translate(error);
    }
  }

  async uncancelSubscription(subscriptionId: string): Promise<void> {
    try {
      await this.killbill.uncancelSubscription(subscriptionId);
    } catch (error) {
      if (error instanceof KillBillError && error.failure.code === KB_ERROR_CODES.SUB_UNCANCEL_BAD_STATE) {
        throw new ConflictError('NO_PENDING_CANCELLATION', 'The subscription has no pending cancellation');
      }
      throw this.translate(error);
    }
  }

  async changePlan(subscriptionId: string, planName: string): Promise<void> {
    try {
      await this.killbill.changePlan(subscriptionId, planName);
    } catch (error) {
      throw this.translate(error);
    }
  }

  accountInvoices(accountId: string): Promise<KbInvoice[]> {
    return this.killbill.getAccountInvoices(accountId);
  }

  async accountState(accountId: string): Promise<AccountState> {
    const [account, overdue] = await Promise.all([
      this.killbill.getAccount(accountId, { withBalance: true }),
      this.killbill.getAccountOverdueState(accountId),
    ]);
    return {
      balance: account.accountBalance ?? 0,
      credit: account.accountCBA ?? 0,
      overdueState: overdue.isClearState || overdue.name === CLEAR_OVERDUE_STATE ? null : overdue.name,
      overdueBlocked: Boolean(overdue.isDisableEntitlementAndChangesBlocked),
    };
  }

  async bootstrap(): Promise<BootstrapRun> {
    const report = await this.bootstrapper.bootstrap();
    this.cachedCatalog = null;
    return { ...report, state: this.bootstrapper.status() };
  }

  bootstrapStatus(): BootstrapState {
    return this.bootstrapper.status();
  }

  /** Kill Bill answers its healthcheck and the bootstrap has completed. */
  async health(): Promise<Record<string, unknown>> {
    const state = this.bootstrapper.status();
    if (state.status !== 'ready') {
      throw new Error(`bootstrap ${state.status}${state.last_error ? `: ${state.last_error}` : ''}`);
    }
    if (!(await this.killbill.healthcheck())) throw new Error('Kill Bill reports itself unhealthy');
    return { provider: 'killbill', bootstrapped_at: state.completed_at };
  }

  /** The tenant's Kill Bill account (externalKey = tenant id), created when missing. */
  private async ensureAccount(tenantId: string, contactCustomerId: string): Promise<string> {
    const known = await this.accounts.findByTenant(tenantId);
    if (known?.kbAccountId) return known.kbAccountId;
    let accountId = (await this.killbill.findAccountByExternalKey(tenantId))?.accountId;
    if (!accountId) {
      try {
        accountId = await this.killbill.createAccount({
          externalKey: tenantId,
          name: `Tenant ${tenantId}`,
          currency: this.config.KILLBILL_CURRENCY,
          notes: 'SaaS Odoo tenant (externalKey = tenant id)',
        });
      } catch (error) {
        if (!(error instanceof KillBillConflictError)) throw error;
        const existing = await this.killbill.findAccountByExternalKey(tenantId);
        if (!existing) throw error;
        accountId = existing.accountId;
      }
    }
    await this.accounts.link(tenantId, accountId, contactCustomerId, this.config.KILLBILL_CURRENCY);
    return accountId;
  }

  /** The instance's live subscription in Kill Bill, if a previous attempt created it. */
  private async findKillBillSubscription(instanceId: string): Promise<KbSubscription | null> {
    const bundles = await this.killbill.getBundlesByExternalKey(instanceId);
    for (const bundle of bundles) {
      const live = (bundle.subscriptions ?? []).find(
        (s) =>
          (!s.productCategory || s.productCategory === 'BASE') && entitlementOf(s, null) !== 'terminated',
      );
      if (live) return live;
    }
    return null;
  }

  private certainlyNotCreated(stage: CreateStage, error: unknown): boolean {
    if (stage === 'before_create') return true;
    if (stage === 'creating') {
      return (
        error instanceof KillBillBadRequestError ||
        error instanceof KillBillNotFoundError ||
        error instanceof KillBillConflictError ||
        error instanceof KillBillAuthError
      );
    }
    return false;
  }

  private translate(error: unknown): unknown {
    if (isOverdueBlocked(error)) return new AccountOverdueError();
    if (error instanceof KillBillBadRequestError) {
      return new DomainError(HttpStatus.BAD_REQUEST, 'BILLING_REJECTED', 'Kill Bill refused the request', [
        { killbill_code: error.failure.code },
      ]);
    }
    return error;
  }
}
