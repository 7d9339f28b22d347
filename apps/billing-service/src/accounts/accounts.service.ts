import { ApiProperty } from '@nestjs/swagger';
import { Injectable, Logger } from '@nestjs/common';
import type { AuthenticatedUser } from '@app/auth';
import { MembershipService } from '../access/membership.service';
import { errorMessage } from '../common/ids';
import { BillingProvider } from '../billing-provider/billing-provider';
import { KillBillUnavailableError } from '../killbill/killbill.errors';
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
    private readonly provider: BillingProvider,
    private readonly accounts: BillingAccountsRepository,
    private readonly subscriptions: SubscriptionsRepository,
    private readonly membership: MembershipService,
  ) {}

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
        source: 'none',
      };
      if (row.kbAccountId) {
        try {
          const state = await this.provider.accountState(row.kbAccountId);
          if (state) {
            view.balance = state.balance;
            view.credit = state.credit;
            view.overdue_state = state.overdueState;
            view.overdue_blocked = state.overdueBlocked;
            view.source = 'killbill';
          }
        } catch (error) {
          view.source = 'cache';
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
