export * from './instance-lifecycle';
export * from './events';
