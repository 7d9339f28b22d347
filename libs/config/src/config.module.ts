import { DynamicModule, Global, Module } from '@nestjs/common';
import { z } from 'zod';
import { loadConfig } from './load-config';

/** Injection token for the app's validated configuration object. */
export const APP_CONFIG = Symbol('APP_CONFIG');

@Global()
@Module({})
export class ConfigModule {
  /** Validates the environment when the module is instantiated (not at import time). */
  static forRoot<S extends z.ZodType>(schema: S): DynamicModule {
    return {
      module: ConfigModule,
      providers: [{ provide: APP_CONFIG, useFactory: () => loadConfig(schema) }],
      exports: [APP_CONFIG],
    };
  }
}
