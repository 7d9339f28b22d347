import { Injectable } from '@nestjs/common';
import { DataSource, In, Repository } from 'typeorm';
import { BillingAccountEntity } from './billing-account.entity';

export interface AccountSnapshot {
  overdueState: string | null;
  overdueBlocked: boolean;
  balance: number | null;
}

@Injectable()
export class BillingAccountsRepository {
  private readonly accounts: Repository<BillingAccountEntity>;

  constructor(private readonly dataSource: DataSource) {
    this.accounts = dataSource.getRepository(BillingAccountEntity);
  }

  findByTenant(tenantId: string): Promise<BillingAccountEntity | null> {
    return this.accounts.findOneBy({ tenantId });
  }

  findByTenants(tenantIds: string[]): Promise<BillingAccountEntity[]> {
    if (tenantIds.length === 0) return Promise.resolve([]);
    return this.accounts.findBy({ tenantId: In(tenantIds) });
  }

  /**
   * Records the tenant's Kill Bill account. The first contact and account id stay (a retry or a
   * notification about an account created elsewhere never overwrites them).
   */
  async link(tenantId: string, kbAccountId: string, contactCustomerId: string | null, currency: string) {
    await this.dataSource.query(
      `INSERT INTO billing_accounts (tenant_id, kb_account_id, contact_customer_id, currency)
       VALUES ($1, $2, $3, $4)
       ON CONFLICT (tenant_id) DO UPDATE SET
         kb_account_id = coalesce(billing_accounts.kb_account_id, EXCLUDED.kb_account_id),
         contact_customer_id = coalesce(billing_accounts.contact_customer_id, EXCLUDED.contact_customer_id),
         updated_at = now()`,
      [tenantId, kbAccountId, contactCustomerId, currency],
    );
  }

  /** A local row without a Kill Bill account (the `none` billing provider), so the tenant has a contact. */
  async ensureLocal(tenantId: string, contactCustomerId: string | null, currency: string): Promise<void> {
    await this.dataSource.query(
      `INSERT INTO billing_accounts (tenant_id, contact_customer_id, currency) VALUES ($1, $2, $3)
       ON CONFLICT (tenant_id) DO NOTHING`,
      [tenantId, contactCustomerId, currency],
    );
  }

  async saveSnapshot(tenantId: string, snapshot: AccountSnapshot): Promise<void> {
    await this.accounts.update(
      { tenantId },
      {
        overdueState: snapshot.overdueState,
        overdueBlocked: snapshot.overdueBlocked,
        balance: snapshot.balance,
        syncedAt: new Date(),
        updatedAt: new Date(),
      },
    );
  }

  /**
   * Kill Bill accounts to re-read in a reconciliation: those with a live subscription, and those with no
   * subscription recorded at all (a crash between Kill Bill's create and our insert).
   */
  async accountsToReconcile(): Promise<string[]> {
    const rows = (await this.dataSource.query(
      `SELECT a.kb_account_id::text AS id FROM billing_accounts a
        WHERE a.kb_account_id IS NOT NULL
          AND (EXISTS (SELECT 1 FROM subscriptions s WHERE s.tenant_id = a.tenant_id AND s.entitlement <> 'terminated')
               OR NOT EXISTS (SELECT 1 FROM subscriptions s WHERE s.tenant_id = a.tenant_id))
        ORDER BY a.created_at`,
    )) as { id: string }[];
    return rows.map((r) => r.id);
  }
}
