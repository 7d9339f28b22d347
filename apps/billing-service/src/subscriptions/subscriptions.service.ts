import { HttpStatus, Inject, Injectable, Logger } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import type { AuthenticatedUser } from '@app/auth';
import { APP_CONFIG } from '@app/config';
import { CustomerSubscriptionSummary } from '@app/contracts';
import { ConflictError, DomainError, NotFoundError } from '@app/http';
import { MembershipService } from '../access/membership.service';
import { AccountsService } from '../accounts/accounts.service';
import { BillingAccountsRepository } from '../records/billing-accounts.repository';
import { errorMessage } from '../common/ids';
import type { Config } from '../config/env';
import { entitlementOf } from '../entitlements/entitlement';
import { EntitlementSyncService } from '../entitlements/entitlement-sync.service';
import { InstanceServiceClient } from '../integrations/instance-service.client';
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
import type { KbSubscription } from '../killbill/killbill.types';
import { PlansService } from '../plans/plans.service';
import { SubscriptionEntity } from '../records/subscription.entity';
import { subscriptionSummary, subscriptionView, SubscriptionView } from './subscription.views';
import { SubscriptionsRepository } from '../records/subscriptions.repository';
import { CustomerTrialsRepository } from '../records/customer-trials.repository';

export class TrialAlreadyUsedError extends ConflictError {
  constructor() {
    super(
      'TRIAL_ALREADY_USED',
      'This customer account has already had its free trial; choose a plan without trial or skip the trial',
    );
  }
}

export class BillingDisabledError extends ConflictError {
  constructor() {
    super('BILLING_DISABLED', 'Billing is disabled on this platform (BILLING_PROVIDER=none)');
  }
}

export class AccountOverdueError extends ConflictError {
  constructor() {
    super('ACCOUNT_OVERDUE', 'The account has overdue invoices: pay them before changing the subscription');
  }
}

export interface CreateSubscriptionCommand {
  tenantId: string;
  instanceId: string;
  customerId: string;
  planName: string;
  skipTrial?: boolean;
}

type CreateStage = 'before_create' | 'creating' | 'created';

@Injectable()
export class SubscriptionsService {
  private readonly logger = new Logger('Subscriptions');

  constructor(
    @Inject(APP_CONFIG) private readonly config: Config,
    private readonly killbill: KillBillClient,
    private readonly subscriptions: SubscriptionsRepository,
    private readonly trials: CustomerTrialsRepository,
    private readonly accounts: AccountsService,
    private readonly accountRows: BillingAccountsRepository,
    private readonly plans: PlansService,
    private readonly sync: EntitlementSyncService,
    private readonly instances: InstanceServiceClient,
    private readonly membership: MembershipService,
  ) {}

  private get killBillEnabled(): boolean {
    return this.config.BILLING_PROVIDER === 'killbill';
  }

  /**
   * One subscription per instance (bundle externalKey = instance id) on the tenant's account, idempotent on
   * the instance. A plan with a trial takes the customer's one trial for life first, whatever the tenant
   * (`customerId` is the tenant owner; a unique key, so two
   * concurrent requests cannot both get one); if Kill Bill certainly did not create the subscription, the
   * trial is given back.
   */
  async createForInstance(
    command: CreateSubscriptionCommand,
  ): Promise<{ subscription: SubscriptionEntity; created: boolean }> {
    const plan = await this.plans.require(command.planName);
    const existing = await this.subscriptions.findByInstance(command.instanceId);
    if (existing) return { subscription: existing, created: false };

    if (!this.killBillEnabled) {
      await this.accountRows.ensureLocal(command.tenantId, command.customerId, this.config.KILLBILL_CURRENCY);
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
      return { subscription, created: inserted };
    }

    const useTrial = plan.trial_length > 0 && !command.skipTrial;
    if (
      useTrial &&
      !(await this.trials.claim(command.customerId, command.tenantId, command.instanceId, plan.name))
    ) {
      throw new TrialAlreadyUsedError();
    }
    let stage: CreateStage = 'before_create';
    try {
      const accountId = await this.accounts.ensureKillBillAccount(command.tenantId, command.customerId);
      let kbSubscription = await this.findKillBillSubscription(command.instanceId);
      if (!kbSubscription) {
        stage = 'creating';
        const id = await this.killbill.createSubscription({
          accountId,
          planName: plan.name,
          phaseType: plan.trial_length > 0 && !useTrial ? 'EVERGREEN' : undefined,
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
      // Only once instance-service shows the instance: it may call us before committing it, and a sync that
      // cannot see it would take it for an orphan. Until then the 30 s recheck and Kill Bill's push apply it.
      if (inserted && (await this.instances.get(command.instanceId).catch(() => null))) {
        await this.syncQuietly(accountId, subscription.id, 'subscription created');
      }
      return {
        subscription: (await this.subscriptions.findById(subscription.id)) ?? subscription,
        created: inserted,
      };
    } catch (error) {
      if (useTrial && this.certainlyNotCreated(stage, error)) {
        await this.trials.release(command.customerId, command.instanceId);
      }
      throw this.translate(error);
    }
  }

  /** POST /api/billing/subscriptions: for an existing instance of a tenant the customer manages. */
  async createForCustomer(
    user: AuthenticatedUser,
    input: { instanceId: string; planName: string; skipTrial?: boolean },
  ): Promise<SubscriptionView> {
    const instance = await this.instances.get(input.instanceId);
    if (!instance) throw new NotFoundError('Instance');
    await this.membership.require(user, instance.tenant_id, 'Instance', 'manage');
    if (instance.desired_state === 'terminated' || instance.status === 'terminated') {
      throw new ConflictError('INSTANCE_TERMINATED', 'The instance is terminated');
    }
    const existing = await this.subscriptions.findByInstance(input.instanceId);
    if (existing) {
      throw new ConflictError('SUBSCRIPTION_EXISTS', 'The instance already has a subscription', [
        { subscription_id: existing.id },
      ]);
    }
    const { subscription } = await this.createForInstance({
      tenantId: instance.tenant_id,
      instanceId: input.instanceId,
      customerId: user.id,
      planName: input.planName,
      skipTrial: input.skipTrial,
    });
    return this.afterChange(subscription, 'subscription created');
  }

  async list(user: AuthenticatedUser, tenantId?: string): Promise<SubscriptionView[]> {
    const tenants = await this.membership.visibleTenants(user, tenantId);
    const rows = await this.subscriptions.listByTenants(tenants.map((t) => t.id));
    return rows.map(subscriptionView);
  }

  async get(user: AuthenticatedUser, id: string): Promise<SubscriptionView> {
    return subscriptionView(await this.owned(user, id, 'view'));
  }

  /** Cancels at the end of the term (entitlement and billing); the instance runs until it is EFFECTIVE. */
  async cancel(user: AuthenticatedUser, id: string): Promise<SubscriptionView> {
    const row = await this.owned(user, id, 'manage');
    this.requireKillBill(row);
    if (row.kbState === 'CANCELLED' || row.entitlement === 'terminated') {
      throw new ConflictError('SUBSCRIPTION_ENDED', 'The subscription has already ended');
    }
    try {
      await this.killbill.cancelSubscription(row.id, {
        entitlementPolicy: 'END_OF_TERM',
        billingPolicy: 'END_OF_TERM',
      });
    } catch (error) {
      if (error instanceof KillBillError && error.failure.code === KB_ERROR_CODES.SUB_CANCEL_BAD_STATE) {
        throw new ConflictError('SUBSCRIPTION_ENDED', 'The subscription has already ended');
      }
      throw this.translate(error);
    }
    return this.afterChange(row, 'cancellation requested');
  }

  /** Withdraws a pending cancellation. */
  async uncancel(user: AuthenticatedUser, id: string): Promise<SubscriptionView> {
    const row = await this.owned(user, id, 'manage');
    this.requireKillBill(row);
    try {
      await this.killbill.uncancelSubscription(row.id);
    } catch (error) {
      if (error instanceof KillBillError && error.failure.code === KB_ERROR_CODES.SUB_UNCANCEL_BAD_STATE) {
        throw new ConflictError('NO_PENDING_CANCELLATION', 'The subscription has no pending cancellation');
      }
      throw this.translate(error);
    }
    return this.afterChange(row, 'cancellation withdrawn');
  }

  /**
   * Changes the plan with the catalog's policy (at once during a trial, at the end of the term after).
   * The instance's limits follow when the change is effective (now, or when Kill Bill applies it).
   */
  async changePlan(user: AuthenticatedUser, id: string, planName: string): Promise<SubscriptionView> {
    const row = await this.owned(user, id, 'manage');
    const plan = await this.plans.require(planName);
    if (row.kbState === 'CANCELLED' || row.entitlement === 'terminated') {
      throw new ConflictError('SUBSCRIPTION_ENDED', 'The subscription has already ended');
    }
    if (plan.name === row.planName && !row.pendingPlanName) {
      throw new ConflictError('SAME_PLAN', `The subscription is already on ${plan.name}`);
    }
    if (row.provider === 'none') {
      await this.instances.setLimits(row.instanceId, await this.plans.entitlementsFor(plan.name));
      await this.subscriptions.setPlan(row.id, plan.name);
      return subscriptionView(await this.reload(row.id));
    }
    try {
      await this.killbill.changePlan(row.id, plan.name);
    } catch (error) {
      throw this.translate(error);
    }
    return this.afterChange(row, `plan change to ${plan.name}`);
  }

  /** GET /internal/customers/{id}/subscription-summary: from the local snapshot, fast and Kill Bill-independent. */
  async summary(customerId: string): Promise<CustomerSubscriptionSummary> {
    const tenants = await this.membership.tenantsOf({ id: customerId });
    const ids = tenants.map((t) => t.id);
    const [rows, accounts] = await Promise.all([
      this.subscriptions.listByTenants(ids),
      this.accountRows.findByTenants(ids),
    ]);
    const balances = accounts.map((a) => a.balance).filter((b): b is number => b !== null);
    return {
      subscriptions: rows.map(subscriptionSummary),
      overdue_state: accounts.find((a) => a.overdueState)?.overdueState ?? null,
      balance: balances.length ? Math.round(balances.reduce((s, b) => s + b, 0) * 100) / 100 : null,
    };
  }

  /**
   * Acts on its own write: re-reads the account now instead of waiting for Kill Bill's push. A failure is not
   * the caller's (the subscription exists); the 30 s recheck and the notifications apply it.
   */
  private async syncQuietly(kbAccountId: string, subscriptionId: string, reason: string): Promise<void> {
    try {
      await this.sync.syncAccount(kbAccountId, reason);
    } catch (error) {
      this.logger.warn({
        msg: 'sync after create failed',
        subscription_id: subscriptionId,
        error: errorMessage(error),
      });
    }
  }

  /** Re-reads Kill Bill after a change so the answer (and the instance) reflect it at once. */
  private async afterChange(row: SubscriptionEntity, reason: string): Promise<SubscriptionView> {
    if (row.kbAccountId) {
      try {
        await this.sync.syncAccount(row.kbAccountId, reason);
      } catch (error) {
        // The change is done in Kill Bill; its notifications and the reconciliation will apply it.
        this.logger.warn({
          msg: 'sync after change failed',
          subscription_id: row.id,
          error: errorMessage(error),
        });
      }
    }
    return subscriptionView(await this.reload(row.id));
  }

  private async reload(id: string): Promise<SubscriptionEntity> {
    const row = await this.subscriptions.findById(id);
    if (!row) throw new NotFoundError('Subscription');
    return row;
  }

  private async owned(
    user: AuthenticatedUser,
    id: string,
    access: 'view' | 'manage',
  ): Promise<SubscriptionEntity> {
    const row = await this.subscriptions.findById(id);
    if (!row) throw new NotFoundError('Subscription');
    await this.membership.require(user, row.tenantId, 'Subscription', access);
    return row;
  }

  private requireKillBill(row: SubscriptionEntity): void {
    if (row.provider !== 'killbill' || !this.killBillEnabled) throw new BillingDisabledError();
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
