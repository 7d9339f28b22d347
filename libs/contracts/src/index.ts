export * from './instance-lifecycle';
export * from './internal-api';
