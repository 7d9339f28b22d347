import { Injectable } from '@nestjs/common';
import { DataSource, Repository } from 'typeorm';
import { PlanEntitlementEntity } from './plan-entitlement.entity';

/** Plan entitlements: the latest row in effect per plan wins (as the original's DISTINCT ON query). */
@Injectable()
export class PlanEntitlementsRepository {
  private readonly rows: Repository<PlanEntitlementEntity>;

  constructor(dataSource: DataSource) {
    this.rows = dataSource.getRepository(PlanEntitlementEntity);
  }

  async current(now: Date): Promise<PlanEntitlementEntity[]> {
    return this.rows
      .createQueryBuilder('p')
      .distinctOn(['p.planName'])
      .where('p.effectiveDate <= :now', { now })
      .orderBy('p.planName')
      .addOrderBy('p.effectiveDate', 'DESC')
      .getMany();
  }

  async currentFor(planName: string, now: Date): Promise<PlanEntitlementEntity | null> {
    return this.rows
      .createQueryBuilder('p')
      .where('p.planName = :planName AND p.effectiveDate <= :now', { planName, now })
      .orderBy('p.effectiveDate', 'DESC')
      .limit(1)
      .getOne();
  }
}
