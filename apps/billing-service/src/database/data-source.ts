import { ServiceDataSourceSpec } from '@app/database';

export const dataSourceSpec: ServiceDataSourceSpec = {
  service: 'billing-service',
  entities: [],
  migrations: [],
};
