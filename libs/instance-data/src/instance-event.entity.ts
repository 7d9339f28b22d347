import { Column, Entity, PrimaryGeneratedColumn } from 'typeorm';
import type { DesiredState, InstanceAction, InstanceStatus } from '@app/contracts';

/**
 * Status history: one row per status change (written in the same transaction as the change) and per
 * recorded intent (`from_status` = `to_status`, `action` set).
 */
@Entity({ name: 'instance_events' })
export class InstanceEventEntity {
  @PrimaryGeneratedColumn({ type: 'bigint' })
  id: string;

  @Column({ name: 'instance_id', type: 'uuid' })
  instanceId: string;

  @Column({ name: 'from_status', type: 'varchar', length: 24, nullable: true })
  fromStatus: InstanceStatus | null;

  @Column({ name: 'to_status', type: 'varchar', length: 24 })
  toStatus: InstanceStatus;

  @Column({ name: 'desired_state', type: 'varchar', length: 16 })
  desiredState: DesiredState;

  /** The action or job that caused it (`start`, `provision`, `drift`, …); null for plain transitions. */
  @Column({ type: 'varchar', length: 32, nullable: true })
  action: InstanceAction | string | null;

  /** User id, or 'worker', 'reconciler', 'docker', 'billing', 'system'. */
  @Column({ type: 'varchar', length: 200 })
  actor: string;

  @Column({ type: 'text', nullable: true })
  reason: string | null;

  @Column({ name: 'job_id', type: 'varchar', length: 100, nullable: true })
  jobId: string | null;

  @Column({ type: 'integer' })
  generation: number;

  @Column({ name: 'created_at', type: 'timestamptz' })
  createdAt: Date;
}
