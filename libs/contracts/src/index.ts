export * from './instance-lifecycle';
export * from './internal-api';
export * from './subdomains';
export * from './customer-instances';
export * from './internal-schemas';
export * from './domain-events';
export * from './backups';
export * from './instance-imports';
