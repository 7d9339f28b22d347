export * from './load-config';
export * from './env-pieces';
export * from './config.module';
export * from './shipped-secrets';
