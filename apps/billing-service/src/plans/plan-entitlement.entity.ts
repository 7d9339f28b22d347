import { Column, Entity, PrimaryGeneratedColumn } from 'typeorm';
import { numericColumn } from '../common/column-transformers';

/** CPU, memory and storage an instance gets on a plan, from `effective_date` on (the latest row wins). */
@Entity({ name: 'plan_entitlements' })
export class PlanEntitlementEntity {
  @PrimaryGeneratedColumn()
  id: number;

  @Column({ name: 'plan_name', type: 'varchar', length: 100 })
  planName: string;

  @Column({ name: 'effective_date', type: 'timestamptz' })
  effectiveDate: Date;

  @Column({ name: 'cpu_limit', type: 'numeric', precision: 4, scale: 2, transformer: numericColumn })
  cpuLimit: number;

  @Column({ name: 'memory_limit', type: 'varchar', length: 10 })
  memoryLimit: string;

  @Column({ name: 'storage_limit', type: 'varchar', length: 10 })
  storageLimit: string;

  @Column({ type: 'text', nullable: true })
  description: string | null;
}
