export * from './service-core.module';
export * from './service-main';
