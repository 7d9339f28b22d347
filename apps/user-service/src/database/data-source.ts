import { ServiceDataSourceSpec } from '@app/database';

export const dataSourceSpec: ServiceDataSourceSpec = {
  service: 'user-service',
  entities: [],
  migrations: [],
};
