import { ConflictError } from '@app/http';
import type { BootstrapRun, BootstrapState } from '../killbill/killbill-bootstrap.service';
import type { KbCatalog, KbInvoice } from '../killbill/killbill.types';
import type { SubscriptionEntity } from '../records/subscription.entity';

export class BillingDisabledError extends ConflictError {
  constructor() {
    super('BILLING_DISABLED', 'Billing is disabled on this platform (BILLING_PROVIDER=none)');
  }
}

export class TrialAlreadyUsedError extends ConflictError {
  constructor() {
    super(
      'TRIAL_ALREADY_USED',
      'This customer account has already had its free trial; choose a plan without trial or skip the trial',
    );
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

/** The plan being subscribed to, as far as the provider needs it. */
export interface PlanChoice {
  name: string;
  /** Days of free trial the catalog gives (0: none). */
  trialLength: number;
}

export interface CreatedSubscription {
  subscription: SubscriptionEntity;
  /** False when the instance already had it (idempotent on the instance). */
  created: boolean;
  /** The billing account to re-read at once, or null when there is nothing to sync (no billing engine). */
  accountId: string | null;
}

/** The live state of a billing account. */
export interface AccountState {
  balance: number;
  credit: number;
  overdueState: string | null;
  overdueBlocked: boolean;
}

/**
 * The billing provider port. One implementation is chosen once at boot, in billing-provider.module:
 * Kill Bill, or `none` (self-hosting: instances are entitled at once, there are no invoices, and an operation that
 * needs a billing engine answers BILLING_DISABLED). Nothing else in the service asks which one runs.
 */
export abstract class BillingProvider {
  abstract readonly name: 'killbill' | 'none';
  /**
   * Whether the engine's push is acted on and the periodic reconciliation and recheck of waiting accounts run
   * (there is nothing to follow without an engine).
   */
  abstract readonly reconciles: boolean;
  /** The engine's catalog versions; null when there is no catalog (plans are then the entitlement rows). */
  abstract catalog(): Promise<KbCatalog[] | null>;
  /**
   * The instance's subscription, created (idempotent on the instance). Throws TrialAlreadyUsedError,
   * AccountOverdueError, BILLING_REJECTED, INSTANCE_BILLED_ELSEWHERE.
   */
  abstract createSubscription(
    command: CreateSubscriptionCommand,
    plan: PlanChoice,
  ): Promise<CreatedSubscription>;
  /**
   * Whether this provider's engine holds the subscription (changes then go through it). A subscription made
   * without an engine is changed locally, whatever provider runs now.
   */
  abstract manages(row: SubscriptionEntity): boolean;
  /** Throws BillingDisabledError unless this provider manages the subscription. */
  requireManaged(row: SubscriptionEntity): void {
    if (!this.manages(row)) throw new BillingDisabledError();
  }
  /** Cancels at the end of the term; SUBSCRIPTION_ENDED when it already ended. */
  abstract cancelSubscription(subscriptionId: string): Promise<void>;
  /** Withdraws a pending cancellation; NO_PENDING_CANCELLATION when there is none. */
  abstract uncancelSubscription(subscriptionId: string): Promise<void>;
  /** Changes the plan with the catalog's policy. */
  abstract changePlan(subscriptionId: string, planName: string): Promise<void>;
  /** The account's invoices (none: there are none). */
  abstract accountInvoices(accountId: string): Promise<KbInvoice[]>;
  /** The account's live balance and overdue state; null when there is no engine to ask. */
  abstract accountState(accountId: string): Promise<AccountState | null>;
  /** Makes the engine ready now (admin route); BillingDisabledError without an engine. */
  abstract bootstrap(): Promise<BootstrapRun>;
  abstract bootstrapStatus(): BootstrapState;
  /** Readiness: throws when the engine is not usable. */
  abstract health(): Promise<Record<string, unknown>>;
}
