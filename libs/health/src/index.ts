export * from './health-check';
export * from './health.module';
export * from './health.views';
