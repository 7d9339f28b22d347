import { DataSource } from 'typeorm';
import { loadConfig } from '@app/config';
import { buildDataSourceOptions } from '@app/database';
import { cliEnvSchema } from '../config/env';
import { dataSourceSpec } from './data-source';

/** Entry point for the TypeORM CLI (npm run migration:generate|run -- user-service). */
export default new DataSource(buildDataSourceOptions(dataSourceSpec, loadConfig(cliEnvSchema)));
