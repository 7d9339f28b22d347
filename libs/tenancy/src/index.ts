export * from './tenant-policy';
export * from './plans';
