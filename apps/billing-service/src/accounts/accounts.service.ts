import { ApiProperty } from '@nestjs/swagger';
import { Inject, Injectable, Logger } from '@nestjs/common';
import type { AuthenticatedUser } from '@app/auth';
import { APP_CONFIG } from '@app/config';
import { MembershipService } from '../access/membership.service';
import { errorMessage } from '../common/ids';
import type { Config } from '../config/env';
import { KillBillClient } from '../killbill/killbill.client';
import { KillBillConflictError, KillBillUnavailableError } from '../killbill/killbill.errors';
import { CLEAR_OVERDUE_STATE } from '../killbill/killbill.types';
import { SubscriptionsRepository } from '../records/subscriptions.repository';
import { BillingAccountsRepository } from '../records/billing-accounts.repository';

export class AccountView {
  @ApiProperty({ format: 'uuid' })
  tenant_id: string;
  @ApiProperty({ example: 'Acme Ltd' })
  tenant_name: string;
  @ApiProperty({ type: 'string', nullable: true, description: 'Kill Bill account id' })
  account_id: string | null;
  @ApiProperty({ example: 'USD' })
  currency: string;
  @ApiProperty({ type: 'number', nullable: true })
  balance: number | null;
  @ApiProperty({ type: 'number', nullable: true })
  credit: number | null;
  @ApiProperty({ type: 'string', nullable: true })
  overdue_state: string | null;
  @ApiProperty()
  overdue_blocked: boolean;
  @ApiProperty({ type: 'string', format: 'date-time', nullable: true })
  trial_ends_at: string | null;
  /** `killbill` when read live, `cache` when Kill Bill did not answer and the last known state is shown. */
  @ApiProperty({
    enum: ['killbill', 'cache', 'none'],
    description:
      'killbill: read live; cache: Kill Bill did not answer, the last known state; none: billing off',
  })
  source: 'killbill' | 'cache' | 'none';
}

export class AccountsOverview {
  @ApiProperty({ type: [AccountView] })
  accounts: AccountView[];
  @ApiProperty({ type: 'number' })
  total_balance: number;
}

@Injectable()
export class AccountsService {
  private readonly logger = new Logger('Accounts');

  constructor(
    @Inject(APP_CONFIG) private readonly config: Config,
    private readonly killbill: KillBillClient,
    private readonly accounts: BillingAccountsRepository,
    private readonly subscriptions: SubscriptionsRepository,
    private readonly membership: MembershipService,
  ) {}

  /** The tenant's Kill Bill account (externalKey = tenant id), created when missing. */
  async ensureKillBillAccount(tenantId: string, contactCustomerId: string): Promise<string> {
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

  /** Balance, overdue state and trial end of each of the customer's tenants that has a billing account. */
  async mine(user: AuthenticatedUser): Promise<AccountsOverview> {
    const tenants = await this.membership.tenantsOf(user);
    const names = new Map(tenants.map((t) => [t.id, t.name]));
    const rows = await this.accounts.findByTenants(tenants.map((t) => t.id));
    const subscriptions = await this.subscriptions.listByTenants(rows.map((r) => r.tenantId));
    const views: AccountView[] = [];
    for (const row of rows) {
      const trialEnds = subscriptions
        .filter((s) => s.tenantId === row.tenantId && s.phaseType === 'TRIAL' && s.trialEndsAt)
        .map((s) => (s.trialEndsAt as Date).getTime())
        .sort((a, b) => a - b)[0];
      const view: AccountView = {
        tenant_id: row.tenantId,
        tenant_name: names.get(row.tenantId) ?? '',
        account_id: row.kbAccountId,
        currency: row.currency,
        balance: row.balance,
        credit: null,
        overdue_state: row.overdueState,
        overdue_blocked: row.overdueBlocked,
        trial_ends_at: trialEnds === undefined ? null : new Date(trialEnds).toISOString(),
        source: this.config.BILLING_PROVIDER === 'killbill' && row.kbAccountId ? 'cache' : 'none',
      };
      if (this.config.BILLING_PROVIDER === 'killbill' && row.kbAccountId) {
        try {
          const [account, overdue] = await Promise.all([
            this.killbill.getAccount(row.kbAccountId, { withBalance: true }),
            this.killbill.getAccountOverdueState(row.kbAccountId),
          ]);
          view.balance = account.accountBalance ?? 0;
          view.credit = account.accountCBA ?? 0;
          view.overdue_state =
            overdue.isClearState || overdue.name === CLEAR_OVERDUE_STATE ? null : overdue.name;
          view.overdue_blocked = Boolean(overdue.isDisableEntitlementAndChangesBlocked);
          view.source = 'killbill';
        } catch (error) {
          if (!(error instanceof KillBillUnavailableError)) throw error;
          this.logger.warn({
            msg: 'Kill Bill unavailable, showing the cached account',
            error: errorMessage(error),
          });
        }
      }
      views.push(view);
    }
    const total = views.reduce((sum, v) => sum + (v.balance ?? 0), 0);
    return { accounts: views, total_balance: Math.round(total * 100) / 100 };
  }
}
