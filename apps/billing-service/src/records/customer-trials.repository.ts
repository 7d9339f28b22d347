import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';

/**
 * The one-trial-per-customer-for-life ledger; its primary key (customer_id, the tenant owner) is the rule, so
 * a customer's new tenant is no new trial and two concurrent requests cannot both win.
 */
@Injectable()
export class CustomerTrialsRepository {
  constructor(private readonly dataSource: DataSource) {}

  /**
   * Takes the customer's trial for this instance. True when taken now or already taken by the same instance
   * (a retried request), false when another instance (of any tenant) had it.
   */
  async claim(customerId: string, tenantId: string, instanceId: string, planName: string): Promise<boolean> {
    const rows = (await this.dataSource.query(
      `WITH claimed AS (
         INSERT INTO customer_trials (customer_id, tenant_id, instance_id, plan_name) VALUES ($1, $2, $3, $4)
         ON CONFLICT (customer_id) DO NOTHING RETURNING instance_id)
       SELECT instance_id::text AS instance_id FROM claimed
       UNION ALL
       SELECT instance_id::text FROM customer_trials WHERE customer_id = $1 AND NOT EXISTS (SELECT 1 FROM claimed)`,
      [customerId, tenantId, instanceId, planName],
    )) as { instance_id: string }[];
    return rows[0]?.instance_id === instanceId;
  }

  /** Gives the trial back when Kill Bill certainly did not create the subscription. */
  async release(customerId: string, instanceId: string): Promise<void> {
    await this.dataSource.query(`DELETE FROM customer_trials WHERE customer_id = $1 AND instance_id = $2`, [
      customerId,
      instanceId,
    ]);
  }
}
