import { MigrationInterface, QueryRunner } from 'typeorm';

export class CreateTenants1763800000000 implements MigrationInterface {
  name = 'CreateTenants1763800000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE tenants (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        name varchar(100) NOT NULL,
        subdomain varchar(50) NOT NULL,
        plan varchar(20) NOT NULL CHECK (plan IN ('starter', 'basic', 'professional', 'enterprise')),
        max_instances_override int CHECK (max_instances_override BETWEEN 0 AND 1000),
        status varchar(20) NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'suspended', 'deleted')),
        owner_id uuid NOT NULL,
        suspended_reason text,
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now(),
        deleted_at timestamptz
      )`);
    // A subdomain is unique among live tenants; a deleted tenant frees it.
    await q.query(
      `CREATE UNIQUE INDEX tenants_subdomain_live ON tenants (subdomain) WHERE status <> 'deleted'`,
    );
    await q.query(`CREATE INDEX tenants_owner ON tenants (owner_id)`);
    await q.query(`
      CREATE TABLE tenant_members (
        tenant_id uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
        user_id uuid NOT NULL,
        email varchar(255) NOT NULL,
        role varchar(20) NOT NULL CHECK (role IN ('owner', 'admin', 'viewer')),
        created_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (tenant_id, user_id)
      )`);
    await q.query(`CREATE INDEX tenant_members_user ON tenant_members (user_id)`);
    await q.query(
      `CREATE UNIQUE INDEX tenant_members_one_owner ON tenant_members (tenant_id) WHERE role = 'owner'`,
    );
    await q.query(`
      CREATE TABLE quota_reservations (
        instance_id uuid PRIMARY KEY,
        tenant_id uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
        created_at timestamptz NOT NULL DEFAULT now()
      )`);
    await q.query(`CREATE INDEX quota_reservations_tenant ON quota_reservations (tenant_id)`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE quota_reservations`);
    await q.query(`DROP TABLE tenant_members`);
    await q.query(`DROP TABLE tenants`);
  }
}
