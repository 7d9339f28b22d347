import { DataSource } from 'typeorm';
import { loadConfig } from '@app/config';
import { buildDataSourceOptions } from '@app/database';
import { envSchema } from '../config/env';
import { dataSourceSpec } from './data-source';

/** Entry point for the TypeORM CLI (npm run migration:generate|run -- instance-service). */
export default new DataSource(buildDataSourceOptions(dataSourceSpec, loadConfig(envSchema)));
