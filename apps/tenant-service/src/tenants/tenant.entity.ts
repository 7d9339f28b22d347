import { Column, CreateDateColumn, Entity, PrimaryGeneratedColumn, UpdateDateColumn } from 'typeorm';
import type { TenantPlan, TenantStatus } from '@app/contracts';

@Entity({ name: 'tenants' })
export class TenantEntity {
  @PrimaryGeneratedColumn('uuid')
  id: string;

  @Column({ type: 'varchar', length: 100 })
  name: string;

  @Column({ type: 'varchar', length: 50 })
  subdomain: string;

  @Column({ type: 'varchar', length: 20 })
  plan: TenantPlan;

  /** Admin override of the plan's instance quota. */
  @Column({ name: 'max_instances_override', type: 'int', nullable: true })
  maxInstancesOverride: number | null;

  @Column({ type: 'varchar', length: 20 })
  status: TenantStatus;

  @Column({ name: 'owner_id', type: 'uuid' })
  ownerId: string;

  @Column({ name: 'suspended_reason', type: 'text', nullable: true })
  suspendedReason: string | null;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt: Date;

  @UpdateDateColumn({ name: 'updated_at', type: 'timestamptz' })
  updatedAt: Date;

  @Column({ name: 'deleted_at', type: 'timestamptz', nullable: true })
  deletedAt: Date | null;
}

@Entity({ name: 'tenant_members' })
export class TenantMemberEntity {
  @Column({ name: 'tenant_id', type: 'uuid', primary: true })
  tenantId: string;

  @Column({ name: 'user_id', type: 'uuid', primary: true })
  userId: string;

  @Column({ type: 'varchar', length: 255 })
  email: string;

  @Column({ type: 'varchar', length: 20 })
  role: 'owner' | 'admin' | 'viewer';

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt: Date;
}

/** One row per live instance of the tenant: the quota is the count of these rows. */
@Entity({ name: 'quota_reservations' })
export class QuotaReservationEntity {
  @Column({ name: 'instance_id', type: 'uuid', primary: true })
  instanceId: string;

  @Column({ name: 'tenant_id', type: 'uuid' })
  tenantId: string;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt: Date;
}
