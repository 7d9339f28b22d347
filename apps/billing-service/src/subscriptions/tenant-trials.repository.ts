import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';

/** The one-trial-per-tenant-for-life ledger; its primary key (tenant_id) is the rule. */
@Injectable()
export class TenantTrialsRepository {
  constructor(private readonly dataSource: DataSource) {}

  /**
   * Takes the tenant's trial for this instance. True when taken now or already taken by the same instance
   * (a retried request), false when another instance had it.
   */
  async claim(tenantId: string, instanceId: string, planName: string): Promise<boolean> {
    const rows = (await this.dataSource.query(
      `WITH claimed AS (
         INSERT INTO tenant_trials (tenant_id, instance_id, plan_name) VALUES ($1, $2, $3)
         ON CONFLICT (tenant_id) DO NOTHING RETURNING instance_id)
       SELECT instance_id::text AS instance_id FROM claimed
       UNION ALL
       SELECT instance_id::text FROM tenant_trials WHERE tenant_id = $1 AND NOT EXISTS (SELECT 1 FROM claimed)`,
      [tenantId, instanceId, planName],
    )) as { instance_id: string }[];
    return rows[0]?.instance_id === instanceId;
  }

  /** Gives the trial back when Kill Bill certainly did not create the subscription. */
  async release(tenantId: string, instanceId: string): Promise<void> {
    await this.dataSource.query(`DELETE FROM tenant_trials WHERE tenant_id = $1 AND instance_id = $2`, [
      tenantId,
      instanceId,
    ]);
  }
}
