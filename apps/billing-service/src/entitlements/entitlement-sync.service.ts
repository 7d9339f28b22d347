import { Inject, Injectable, Logger } from '@nestjs/common';
import type { Counter } from 'prom-client';
import { APP_CONFIG } from '@app/config';
import { MetricsRegistry } from '@app/metrics';
import { DesiredState } from '@app/contracts';
import { clampToCeiling, fieldsAboveCeiling } from '@app/tenancy';
import { AccountSnapshot, BillingAccountsRepository } from '../records/billing-accounts.repository';
import { BillingEvents } from '../common/billing-events';
import { AdvisoryLocks } from '../common/advisory-lock';
import { isUuid } from '../common/ids';
import { CoalescingQueue } from '../common/coalescing-queue';
import { counter } from '../common/metrics';
import { Semaphore } from '../common/semaphore';
import type { Config } from '../config/env';
import {
  BillingInstanceView,
  InstanceNotFoundError,
  InstanceServiceClient,
} from '../integrations/instance-service.client';
import { KillBillClient } from '../killbill/killbill.client';
import { CLEAR_OVERDUE_STATE, KbInvoice, KbOverdueState, KbSubscription } from '../killbill/killbill.types';
import { BillingMailService } from '../notifications/billing-mail.service';
import { PlansService } from '../plans/plans.service';
import { Entitlement } from '../records/subscription.entity';
import { SubscriptionSnapshot, SubscriptionsRepository } from '../records/subscriptions.repository';
import { SubscriptionEntity } from '../records/subscription.entity';
import { entitlementOf, snapshotOf } from '../killbill/entitlement';

export interface SubscriptionSyncResult {
  subscription_id: string;
  instance_id: string;
  entitlement: Entitlement | null;
  /** What was asked of instance-service (null: nothing needed). */
  desired_state_set: DesiredState | null;
  limits_set: boolean;
  skipped?: string;
}

const time = (date: Date | null) => (date ? date.getTime() : null);

/** Nothing to write: the local row already says what Kill Bill says. */
function unchanged(row: SubscriptionEntity, snapshot: SubscriptionSnapshot): boolean {
  return (
    row.planName === snapshot.planName &&
    row.pendingPlanName === snapshot.pendingPlanName &&
    row.phaseType === snapshot.phaseType &&
    row.kbState === snapshot.kbState &&
    (snapshot.trialEndsAt === null || time(row.trialEndsAt) === time(snapshot.trialEndsAt)) &&
    row.chargedThroughDate === snapshot.chargedThroughDate &&
    time(row.cancelEffectiveAt) === time(snapshot.cancelEffectiveAt)
  );
}

/** Which subscriptions of the account have an unpaid invoice (read from Kill Bill once per sync, when asked). */
class UnpaidSubscriptions {
  private ids: Promise<Set<string>> | null = null;

  constructor(private readonly read: () => Promise<KbInvoice[]>) {}

  has(subscriptionId: string): Promise<boolean> {
    this.ids ??= this.read().then(
      (invoices) =>
        new Set(
          invoices
            .filter((i) => (i.balance ?? 0) > 0)
            .flatMap((i) => (i.items ?? []).map((item) => item.subscriptionId ?? '')),
        ),
    );
    return this.ids.then((ids) => ids.has(subscriptionId));
  }
}

export interface AccountSyncResult {
  account_id: string;
  tenant_id: string | null;
  overdue_state: string | null;
  subscriptions: SubscriptionSyncResult[];
  skipped?: string;
}

/**
 * Re-reads a Kill Bill account (account, overdue state, bundles with their subscriptions) and makes the
 * platform agree with it: instance desired state, instance limits (they follow the effective plan), the
 * local snapshot, and the mail a transition deserves. It is the only path that changes entitlements, used by
 * notifications, user actions and the reconciliation alike. Syncs of one account are serialised (coalesced
 * in process, an advisory lock across replicas), so an older read is never applied over a newer one.
 */
@Injectable()
export class EntitlementSyncService {
  private readonly logger = new Logger('EntitlementSync');
  /** Each running sync holds a pooled connection for its lock and uses another: bounded so the pool never starves. */
  private readonly queue: CoalescingQueue<AccountSyncResult>;
  private readonly syncs: Counter<'result'>;
  private readonly orphanGraceMs: number;

  constructor(
    @Inject(APP_CONFIG) config: Config,
    private readonly killbill: KillBillClient,
    private readonly accounts: BillingAccountsRepository,
    private readonly subscriptions: SubscriptionsRepository,
    private readonly instances: InstanceServiceClient,
    private readonly plans: PlansService,
    private readonly mail: BillingMailService,
    private readonly locks: AdvisoryLocks,
    private readonly events: BillingEvents,
    metrics: MetricsRegistry,
  ) {
    this.queue = new CoalescingQueue(new Semaphore(config.BILLING_SYNC_CONCURRENCY));
    this.orphanGraceMs = config.BILLING_ORPHAN_GRACE_SECONDS * 1000;
    this.syncs = counter(metrics, {
      name: 'billing_account_syncs_total',
      help: 'Re-reads of a Kill Bill account applied to the platform (after coalescing), by result',
      labelNames: ['result'],
    });
  }

  /**
   * Resolves once a sync of the account that started after this call has finished: calls arriving while one
   * runs share the next run (coalesced), which re-reads everything they were about.
   */
  syncAccount(kbAccountId: string, reason: string): Promise<AccountSyncResult> {
    return this.queue.run(kbAccountId, () =>
      this.locks.withLock(`billing:kb-account:${kbAccountId}`, () => this.syncLocked(kbAccountId, reason)),
    );
  }

  private async syncLocked(kbAccountId: string, reason: string): Promise<AccountSyncResult> {
    try {
      const result = await this.syncAccountNow(kbAccountId, reason);
      this.syncs.inc({ result: 'ok' });
      return result;
    } catch (error) {
      this.syncs.inc({ result: 'error' });
      throw error;
    }
  }

  private async syncAccountNow(kbAccountId: string, reason: string): Promise<AccountSyncResult> {
    const account = await this.killbill.getAccount(kbAccountId, { withBalance: true });
    const tenantId = account.externalKey;
    if (!isUuid(tenantId)) {
      return {
        account_id: kbAccountId,
        tenant_id: null,
        overdue_state: null,
        subscriptions: [],
        skipped: 'not a tenant account',
      };
    }
    const [overdue, bundles] = await Promise.all([
      this.killbill.getAccountOverdueState(kbAccountId),
      this.killbill.getAccountBundles(kbAccountId),
    ]);
    let local = await this.accounts.findByTenant(tenantId);
    if (local?.kbAccountId !== kbAccountId) {
      await this.accounts.link(tenantId, kbAccountId, null, account.currency ?? 'USD');
      local = await this.accounts.findByTenant(tenantId);
    }
    const accountSnapshot: AccountSnapshot = {
      overdueState: overdue.isClearState || overdue.name === CLEAR_OVERDUE_STATE ? null : overdue.name,
      overdueBlocked: Boolean(overdue.isDisableEntitlementAndChangesBlocked),
      balance: account.accountBalance ?? null,
    };
    // Writes only what changed: a reconciliation of unchanged accounts costs reads, not commits.
    if (
      !local ||
      local.overdueState !== accountSnapshot.overdueState ||
      local.overdueBlocked !== accountSnapshot.overdueBlocked ||
      local.balance !== accountSnapshot.balance
    ) {
      await this.accounts.saveSnapshot(tenantId, accountSnapshot);
    }
    const results: SubscriptionSyncResult[] = [];
    const unpaid = new UnpaidSubscriptions(() => this.killbill.getAccountInvoices(kbAccountId));
    for (const bundle of bundles) {
      for (const subscription of bundle.subscriptions ?? []) {
        if (subscription.productCategory && subscription.productCategory !== 'BASE') continue;
        results.push(
          await this.applySubscription(
            tenantId,
            subscription,
            overdue,
            local?.contactCustomerId ?? null,
            reason,
            unpaid,
          ),
        );
      }
    }
    return {
      account_id: kbAccountId,
      tenant_id: tenantId,
      overdue_state: overdue.name,
      subscriptions: results,
    };
  }

  private async applySubscription(
    tenantId: string,
    subscription: KbSubscription,
    overdue: KbOverdueState,
    contact: string | null,
    reason: string,
    unpaid: UnpaidSubscriptions,
  ): Promise<SubscriptionSyncResult> {
    const instanceId = subscription.bundleExternalKey;
    const result: SubscriptionSyncResult = {
      subscription_id: subscription.subscriptionId,
      instance_id: instanceId ?? '',
      entitlement: null,
      desired_state_set: null,
      limits_set: false,
    };
    if (!isUuid(instanceId)) return { ...result, skipped: 'bundle externalKey is not an instance id' };

    let row = await this.subscriptions.findById(subscription.subscriptionId);
    if (!row) {
      const other = await this.subscriptions.findByInstance(instanceId);
      if (other) {
        // The instance's subscription is another one (this one ended and was replaced, or was never ours).
        return { ...result, skipped: `instance already has subscription ${other.id}` };
      }
      // Created in Kill Bill but not recorded here (a crash in between): adopt it.
      row = (
        await this.subscriptions.insertOnce({
          id: subscription.subscriptionId,
          instanceId,
          tenantId,
          createdBy: null,
          provider: 'killbill',
          kbAccountId: subscription.accountId,
          kbBundleId: subscription.bundleId,
          planName: subscription.planName,
          phaseType: subscription.phaseType ?? null,
          kbState: subscription.state,
          trialEndsAt: null,
          entitlement: 'pending',
        })
      ).subscription;
    }

    let target = entitlementOf(subscription, overdue);
    // Pay first: a plan without trial is not provisioned until its first invoice is paid.
    const awaitingPayment =
      target === 'running' &&
      row.entitlement === 'pending' &&
      (await this.plans.require(subscription.planName)).trial_length === 0 &&
      (await unpaid.has(subscription.subscriptionId));
    if (awaitingPayment) {
      // Still checks that the instance exists (a discarded instance's subscription is cancelled below).
      if (
        !(await this.instances.get(instanceId)) &&
        Date.now() - row.createdAt.getTime() >= this.orphanGraceMs
      ) {
        target = 'running'; // falls through to applyDesiredState, which finds the instance missing
      } else {
        await this.subscriptions.setBillingStatus(row.id, 'payment_required');
        await this.subscriptions.saveSnapshotOnly(row.id, snapshotOf(subscription));
        if (row.billingStatus !== 'payment_required')
          this.events.subscriptionChanged(row, 'payment_required');
        return { ...result, skipped: 'payment_required' };
      }
    }
    if (row.billingStatus === 'payment_required' && target !== null) {
      await this.subscriptions.setBillingStatus(row.id, null);
    }
    result.entitlement = target;

    if (target) {
      try {
        const instance = await this.instances.get(instanceId);
        if (!instance) throw new InstanceNotFoundError(instanceId);
        if (target !== 'terminated') {
          result.limits_set = await this.applyLimits(
            instance,
            subscription.planName,
            row.planName !== subscription.planName,
          );
        }
        result.desired_state_set = await this.applyDesiredState(instance, target, reason);
      } catch (error) {
        if (!(error instanceof InstanceNotFoundError)) throw error;
        if (target === 'terminated') {
          result.skipped = 'the instance no longer exists';
        } else if (Date.now() - row.createdAt.getTime() >= this.orphanGraceMs) {
          // The instance is gone (instance-service discards an instance whose creation failed): stop billing it.
          await this.killbill.cancelSubscription(subscription.subscriptionId, {
            entitlementPolicy: 'IMMEDIATE',
            billingPolicy: 'IMMEDIATE',
          });
          this.logger.warn({
            msg: 'subscription of a missing instance cancelled',
            subscription_id: subscription.subscriptionId,
            instance_id: instanceId,
          });
          await this.subscriptions.transaction((manager) =>
            this.subscriptions.transition(manager, row.id, 'terminated'),
          );
          return {
            ...result,
            entitlement: 'terminated',
            skipped: 'instance missing: subscription cancelled',
          };
        } else {
          throw error; // maybe not committed yet: retried
        }
      }
    }

    const snapshot = snapshotOf(subscription);
    if (unchanged(row, snapshot) && (!target || row.entitlement === target)) return result;
    const suspensionReason = overdue.isDisableEntitlementAndChangesBlocked
      ? 'the account has unpaid invoices'
      : 'billing is paused';
    const changedTo = await this.subscriptions.transaction(async (manager) => {
      await this.subscriptions.saveSnapshot(manager, row.id, snapshot);
      if (!target) return null;
      const transition = await this.subscriptions.transition(manager, row.id, target);
      if (transition) {
        this.logger.log({
          msg: 'entitlement changed',
          subscription_id: row.id,
          instance_id: instanceId,
          from: transition.from,
          to: transition.to,
          reason,
        });
        await this.mail.entitlementChanged(manager, row, contact, transition, suspensionReason);
      }
      return transition ? transition.to : null;
    });
    this.events.subscriptionChanged(row, changedTo ?? row.entitlement);
    return result;
  }

  /**
   * The plan's entitlements are the instance's ceilings, level-triggered: a plan change sets them, and at
   * every sync limits above them (created before billing applied them, or a downgrade) are lowered to them.
   */
  private async applyLimits(
    instance: BillingInstanceView,
    planName: string,
    planChanged: boolean,
  ): Promise<boolean> {
    if (instance.desired_state === 'terminated') return false;
    const entitled = await this.plans.entitlementsFor(planName);
    if (planChanged) {
      await this.instances.setLimits(instance.id, entitled);
      return true;
    }
    const { cpu_limit, memory_limit, storage_limit } = instance;
    if (cpu_limit === undefined || memory_limit === undefined || storage_limit === undefined) return false;
    const current = { cpu_limit, memory_limit, storage_limit };
    const ceiling = { ...entitled, max_instances: 1 };
    if (fieldsAboveCeiling(current, ceiling).length === 0) return false;
    await this.instances.setLimits(instance.id, clampToCeiling(current, ceiling));
    return true;
  }

  /**
   * Moves the instance's desired state towards the entitlement, without overriding the customer: an
   * entitled instance the customer stopped stays stopped, and a terminated instance is never brought back.
   * `running` is (re)sent while the instance is still `pending`: that is what entitles it. Billing records
   * its own suspension even on an instance someone else suspended, and lifts only its own.
   */
  private async applyDesiredState(
    instance: BillingInstanceView,
    target: Exclude<Entitlement, 'pending'>,
    reason: string,
  ): Promise<DesiredState | null> {
    if (instance.desired_state === 'terminated') return null;
    const heldByBilling = instance.suspension_sources?.includes('billing') ?? true;
    let desired: DesiredState | null = null;
    if (target === 'running') {
      if (instance.status === 'pending' || (instance.desired_state === 'suspended' && heldByBilling)) {
        desired = 'running';
      }
    } else if (target === 'suspended') {
      if (instance.desired_state !== 'suspended' || !heldByBilling) desired = 'suspended';
    } else {
      desired = 'terminated';
    }
    if (!desired) return null;
    await this.instances.setDesiredState(instance.id, desired, `billing: ${reason}`);
    return desired;
  }
}
