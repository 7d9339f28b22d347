import { Injectable, Logger } from '@nestjs/common';
import { ConflictError, NotFoundError } from '@app/http';
import type { AuthenticatedUser } from '@app/auth';
import { CustomerSubscriptionSummary } from '@app/contracts';
import { MembershipService } from '../access/membership.service';
import { BillingProvider, CreateSubscriptionCommand } from '../billing-provider/billing-provider';
import { BillingAccountsRepository } from '../records/billing-accounts.repository';
import { errorMessage } from '../common/ids';
import { EntitlementSyncService } from '../entitlements/entitlement-sync.service';
import { InstanceServiceClient } from '../integrations/instance-service.client';
import { PlansService } from '../plans/plans.service';
import { SubscriptionEntity } from '../records/subscription.entity';
import { subscriptionSummary, subscriptionView, SubscriptionView } from './subscription.views';
import { SubscriptionsRepository } from '../records/subscriptions.repository';

@Injectable()
export class SubscriptionsService {
  private readonly logger = new Logger('Subscriptions');

  constructor(
    private readonly provider: BillingProvider,
    private readonly subscriptions: SubscriptionsRepository,
    private readonly accountRows: BillingAccountsRepository,
    private readonly plans: PlansService,
    private readonly sync: EntitlementSyncService,
    private readonly instances: InstanceServiceClient,
    private readonly membership: MembershipService,
  ) {}

  /**
   * One subscription per instance, idempotent on the instance (the provider creates it: with Kill Bill on the
   * tenant's account, taking the customer's one trial for life first; without, entitled at once).
   */
  async createForInstance(
    command: CreateSubscriptionCommand,
  ): Promise<{ subscription: SubscriptionEntity; created: boolean }> {
    const plan = await this.plans.require(command.planName);
    const existing = await this.subscriptions.findByInstance(command.instanceId);
    if (existing) return { subscription: existing, created: false };
    const { subscription, created, accountId } = await this.provider.createSubscription(command, {
      name: plan.name,
      trialLength: plan.trial_length,
    });
    if (!accountId) return { subscription, created };
    // Act on our own write now rather than wait for the push, but only once instance-service shows the
    // instance (it may call us before committing it; a sync then would take it for an orphan).
    if (created && (await this.instances.get(command.instanceId).catch(() => null))) {
      await this.syncQuietly(accountId, subscription.id, 'subscription created');
    }
    return { subscription: (await this.subscriptions.findById(subscription.id)) ?? subscription, created };
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
    this.provider.requireManaged(row);
    if (row.kbState === 'CANCELLED' || row.entitlement === 'terminated') {
      throw new ConflictError('SUBSCRIPTION_ENDED', 'The subscription has already ended');
    }
    await this.provider.cancelSubscription(row.id);
    return this.afterChange(row, 'cancellation requested');
  }

  /** Withdraws a pending cancellation. */
  async uncancel(user: AuthenticatedUser, id: string): Promise<SubscriptionView> {
    const row = await this.owned(user, id, 'manage');
    this.provider.requireManaged(row);
    await this.provider.uncancelSubscription(row.id);
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
    if (!this.provider.manages(row)) {
      // No billing engine holds this subscription: the plan changes here, at once.
      await this.instances.setLimits(row.instanceId, await this.plans.entitlementsFor(plan.name));
      await this.subscriptions.setPlan(row.id, plan.name);
      return subscriptionView(await this.reload(row.id));
    }
    await this.provider.changePlan(row.id, plan.name);
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
}
