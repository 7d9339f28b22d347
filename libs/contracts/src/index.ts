export * from './instance-lifecycle';
export * from './events';
export * from './internal-api';
