import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The free trial is once per customer account (the tenant owner), no longer once per tenant; plan
 * entitlements now live in one table in code (@app/tenancy BILLING_PLAN_CEILINGS), so their copy here goes.
 */
export class PlanCeilingsAndCustomerTrials1768000000000 implements MigrationInterface {
  name = 'PlanCeilingsAndCustomerTrials1768000000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE TABLE customer_trials (
        customer_id uuid PRIMARY KEY,
        tenant_id uuid NOT NULL,
        instance_id uuid NOT NULL,
        plan_name varchar(100) NOT NULL,
        claimed_at timestamptz NOT NULL DEFAULT now()
      )`);
    // Trials already taken stay taken, by the customer the tenant's billing account names (first one wins).
    await queryRunner.query(`
      INSERT INTO customer_trials (customer_id, tenant_id, instance_id, plan_name, claimed_at)
      SELECT a.contact_customer_id, t.tenant_id, t.instance_id, t.plan_name, t.claimed_at
      FROM tenant_trials t JOIN billing_accounts a ON a.tenant_id = t.tenant_id
      WHERE a.contact_customer_id IS NOT NULL
      ORDER BY t.claimed_at
      ON CONFLICT (customer_id) DO NOTHING`);
    await queryRunner.query(`DROP TABLE tenant_trials`);
    await queryRunner.query(`DROP TABLE plan_entitlements`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE TABLE plan_entitlements (
        id serial PRIMARY KEY,
        plan_name varchar(100) NOT NULL,
        effective_date timestamptz NOT NULL,
        cpu_limit numeric(4, 2) NOT NULL,
        memory_limit varchar(10) NOT NULL,
        storage_limit varchar(10) NOT NULL,
        description text,
        CONSTRAINT plan_entitlements_plan_effective_key UNIQUE (plan_name, effective_date)
      )`);
    await queryRunner.query(`
      CREATE TABLE tenant_trials (
        tenant_id uuid PRIMARY KEY,
        instance_id uuid NOT NULL,
        plan_name varchar(100) NOT NULL,
        claimed_at timestamptz NOT NULL DEFAULT now()
      )`);
    await queryRunner.query(`
      INSERT INTO tenant_trials (tenant_id, instance_id, plan_name, claimed_at)
      SELECT tenant_id, instance_id, plan_name, claimed_at FROM customer_trials ON CONFLICT DO NOTHING`);
    await queryRunner.query(`DROP TABLE customer_trials`);
  }
}
