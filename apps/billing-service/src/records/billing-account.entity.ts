import { Column, Entity, PrimaryColumn } from 'typeorm';
import { numericColumn } from '../common/column-transformers';

/** One Kill Bill account per tenant (externalKey = tenant id), with the last state read from Kill Bill. */
@Entity({ name: 'billing_accounts' })
export class BillingAccountEntity {
  @PrimaryColumn({ name: 'tenant_id', type: 'uuid' })
  tenantId: string;

  @Column({ name: 'kb_account_id', type: 'uuid', nullable: true })
  kbAccountId: string | null;

  /** Who receives the billing mail: the customer whose request created the account. */
  @Column({ name: 'contact_customer_id', type: 'uuid', nullable: true })
  contactCustomerId: string | null;

  @Column({ type: 'char', length: 3 })
  currency: string;

  @Column({ name: 'overdue_state', type: 'varchar', length: 64, nullable: true })
  overdueState: string | null;

  @Column({ name: 'overdue_blocked', type: 'boolean' })
  overdueBlocked: boolean;

  @Column({ type: 'numeric', precision: 14, scale: 2, nullable: true, transformer: numericColumn })
  balance: number | null;

  @Column({ name: 'synced_at', type: 'timestamptz', nullable: true })
  syncedAt: Date | null;

  @Column({ name: 'created_at', type: 'timestamptz' })
  createdAt: Date;

  @Column({ name: 'updated_at', type: 'timestamptz' })
  updatedAt: Date;
}
