import { ServiceDataSourceSpec } from '@app/database';

export const dataSourceSpec: ServiceDataSourceSpec = {
  service: 'instance-worker',
  entities: [],
  migrations: [],
};
