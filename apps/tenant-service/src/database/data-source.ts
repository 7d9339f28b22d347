import { ServiceDataSourceSpec } from '@app/database';
import { QuotaReservationEntity, TenantEntity, TenantMemberEntity } from '../tenants/tenant.entity';
import { CreateTenants1763800000000 } from './migrations/1763800000000-CreateTenants';

export const dataSourceSpec: ServiceDataSourceSpec = {
  service: 'tenant-service',
  entities: [TenantEntity, TenantMemberEntity, QuotaReservationEntity],
  migrations: [CreateTenants1763800000000],
};
