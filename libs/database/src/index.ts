export * from './service-identity';
export * from './db-user.guard';
export * from './migrations';
export * from './data-source-options';
export * from './database.module';
export * from './database.health';
export * from './pg-errors';
