import { ServiceDataSourceSpec } from '@app/database';

export const dataSourceSpec: ServiceDataSourceSpec = {
  service: 'tenant-service',
  entities: [],
  migrations: [],
};
