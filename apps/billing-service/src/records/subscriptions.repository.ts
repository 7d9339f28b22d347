import { Injectable } from '@nestjs/common';
import { DataSource, EntityManager, In, Repository } from 'typeorm';
import { rowsOf } from '../common/sql';
import { BillingProviderName, Entitlement, SubscriptionEntity } from './subscription.entity';

export interface NewSubscription {
  id: string;
  instanceId: string;
  tenantId: string;
  createdBy: string | null;
  provider: BillingProviderName;
  kbAccountId: string | null;
  kbBundleId: string | null;
  planName: string;
  phaseType: string | null;
  kbState: string;
  trialEndsAt: Date | null;
  entitlement: Entitlement;
}

/** What a sync read from Kill Bill about the subscription. */
export interface SubscriptionSnapshot {
  planName: string;
  pendingPlanName: string | null;
  phaseType: string | null;
  kbState: string;
  trialEndsAt: Date | null;
  chargedThroughDate: string | null;
  cancelEffectiveAt: Date | null;
}

export interface EntitlementTransition {
  from: Entitlement;
  to: Entitlement;
  version: number;
}

@Injectable()
export class SubscriptionsRepository {
  private readonly subscriptions: Repository<SubscriptionEntity>;

  constructor(private readonly dataSource: DataSource) {
    this.subscriptions = dataSource.getRepository(SubscriptionEntity);
  }

  findById(id: string): Promise<SubscriptionEntity | null> {
    return this.subscriptions.findOneBy({ id });
  }

  findByInstance(instanceId: string): Promise<SubscriptionEntity | null> {
    return this.subscriptions.findOneBy({ instanceId });
  }

  listByTenants(tenantIds: string[]): Promise<SubscriptionEntity[]> {
    if (tenantIds.length === 0) return Promise.resolve([]);
    return this.subscriptions.find({
      where: { tenantId: In(tenantIds) },
      order: { createdAt: 'ASC', id: 'ASC' },
    });
  }

  /** Inserts unless the instance already has a subscription; returns the row that exists afterwards. */
  async insertOnce(row: NewSubscription): Promise<{ subscription: SubscriptionEntity; inserted: boolean }> {
    const inserted = rowsOf<{ id: string }>(
      await this.dataSource.query(
        `INSERT INTO subscriptions (id, instance_id, tenant_id, created_by, provider, kb_account_id, kb_bundle_id,
                                    plan_name, phase_type, kb_state, trial_ends_at, entitlement)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
         ON CONFLICT DO NOTHING RETURNING id`,
        [
          row.id,
          row.instanceId,
          row.tenantId,
          row.createdBy,
          row.provider,
          row.kbAccountId,
          row.kbBundleId,
          row.planName,
          row.phaseType,
          row.kbState,
          row.trialEndsAt,
          row.entitlement,
        ],
      ),
    );
    const subscription = (await this.findById(row.id)) ?? (await this.findByInstance(row.instanceId));
    if (!subscription) throw new Error(`subscription of instance ${row.instanceId} vanished after insert`);
    return { subscription, inserted: inserted.length > 0 };
  }

  /** Stores what was read from Kill Bill. A trial end once known is kept after the trial is over. */
  async saveSnapshot(manager: EntityManager, id: string, snapshot: SubscriptionSnapshot): Promise<void> {
    await manager.query(
      `UPDATE subscriptions SET plan_name = $2, pending_plan_name = $3, phase_type = $4, kb_state = $5,
              trial_ends_at = coalesce($6, trial_ends_at), charged_through_date = $7, cancel_effective_at = $8,
              synced_at = now(), updated_at = now()
        WHERE id = $1`,
      [
        id,
        snapshot.planName,
        snapshot.pendingPlanName,
        snapshot.phaseType,
        snapshot.kbState,
        snapshot.trialEndsAt,
        snapshot.chargedThroughDate,
        snapshot.cancelEffectiveAt,
      ],
    );
  }

  /**
   * Moves the entitlement to `to` if it is something else, atomically: of concurrent syncs reaching the
   * same conclusion exactly one sees the transition (and sends its mail).
   */
  async transition(
    manager: EntityManager,
    id: string,
    to: Entitlement,
  ): Promise<EntitlementTransition | null> {
    const rows = rowsOf<{ from: Entitlement; version: number }>(
      await manager.query(
        `UPDATE subscriptions s
            SET entitlement = $2, entitlement_version = s.entitlement_version + 1,
                entitlement_changed_at = now(), updated_at = now()
           FROM (SELECT id, entitlement FROM subscriptions WHERE id = $1 FOR UPDATE) AS before
          WHERE s.id = before.id AND s.entitlement <> $2
        RETURNING before.entitlement AS "from", s.entitlement_version AS version`,
        [id, to],
      ),
    );
    const row = rows[0];
    return row ? { from: row.from, to, version: row.version } : null;
  }

  async setPlan(id: string, planName: string): Promise<void> {
    await this.subscriptions.update({ id }, { planName, pendingPlanName: null, updatedAt: new Date() });
  }

  transaction<T>(work: (manager: EntityManager) => Promise<T>): Promise<T> {
    return this.dataSource.transaction(work);
  }

  /** Pay first: `payment_required` while the first invoice of a plan without trial is unpaid; null after. */
  async setBillingStatus(id: string, status: string | null): Promise<void> {
    await this.dataSource.query(
      `UPDATE subscriptions SET billing_status = $2, updated_at = now() WHERE id = $1 AND billing_status IS DISTINCT FROM $2`,
      [id, status],
    );
  }

  /** Kill Bill accounts with a subscription still waiting on billing (pending, or waiting for its first payment). */
  async accountsWaiting(): Promise<string[]> {
    const rows = (await this.dataSource.query(
      `SELECT DISTINCT kb_account_id::text AS id FROM subscriptions
        WHERE kb_account_id IS NOT NULL AND entitlement = 'pending'`,
    )) as { id: string }[];
    return rows.map((r) => r.id);
  }

  async saveSnapshotOnly(id: string, snapshot: SubscriptionSnapshot): Promise<void> {
    await this.transaction((manager) => this.saveSnapshot(manager, id, snapshot));
  }
}
