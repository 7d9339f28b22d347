export * from './lifecycle-jobs';
export * from './redis-connection';
export * from './lifecycle-queue';
export * from './lifecycle-consumer';
export * from './instance-logs';
export * from './lifecycle-queue.module';
export * from './placement-nodes';
