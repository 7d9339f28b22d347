import { ServiceDataSourceSpec } from '@app/database';

export const dataSourceSpec: ServiceDataSourceSpec = {
  service: 'instance-service',
  entities: [],
  migrations: [],
};
