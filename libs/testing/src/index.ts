export * from './test-env';
export * from './admin-sql';
export * from './tcp-proxy';
export * from './service-harness';
export * from './smtp-sink';
export * from './customer-factory';
export * from './free-port';
