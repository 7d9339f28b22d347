import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { InstanceEntity } from '@app/instance-data';

/**
 * Undoes a creation that could not be completed (billing-service refused or was unreachable): the row goes
 * away with its events (ON DELETE CASCADE), but only while it is still pending and was never entitled, so
 * nothing the worker may have touched is ever deleted.
 */
@Injectable()
export class AbandonedInstancesRepository {
  constructor(private readonly dataSource: DataSource) {}

  /** True when the row was deleted; false when it is gone already or was entitled in the meantime. */
  async discardUnentitled(id: string): Promise<boolean> {
    const result = await this.dataSource
      .getRepository(InstanceEntity)
      .delete({ id, status: 'pending', generation: 0 });
    return (result.affected ?? 0) > 0;
  }
}
