export * from './domain-errors';
export * from './error-envelope.filter';
export * from './validation';
export * from './json-logger';
export * from './http-core.module';
export * from './bootstrap';
export * from './json-body';
