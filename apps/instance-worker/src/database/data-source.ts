import { ServiceDataSourceSpec } from '@app/database';
import { INSTANCE_DATA_ENTITIES, INSTANCE_DATA_MIGRATIONS } from '@app/instance-data';

/** Both instance apps share the `instance` database; its schema lives in libs/instance-data. */
export const dataSourceSpec: ServiceDataSourceSpec = {
  service: 'instance-worker',
  entities: INSTANCE_DATA_ENTITIES,
  migrations: INSTANCE_DATA_MIGRATIONS,
};
