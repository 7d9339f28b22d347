export * from './redis.module';
export * from './domain-events';
