export * from './health-check';
export * from './health.module';
