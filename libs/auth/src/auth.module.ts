import { DynamicModule, Global, Module } from '@nestjs/common';
import { APP_CONFIG } from '@app/config';
import { AccessTokenVerifier } from './access-token.verifier';
import { AUTH_SETTINGS, authSettingsFrom } from './auth.env';
import { AccessTokenGuard, AdminGuard, InternalApiGuard } from './guards';
import { InternalHttpClient } from './internal-http.client';
import { JwksStore } from './jwks.store';

const providers = [
  { provide: AUTH_SETTINGS, inject: [APP_CONFIG], useFactory: authSettingsFrom },
  JwksStore,
  AccessTokenVerifier,
  AccessTokenGuard,
  AdminGuard,
  InternalApiGuard,
  InternalHttpClient,
];

/**
 * The verifying side of authentication, shared by every service: import it once in the app module
 * (`AuthModule` or `AuthModule.forRoot()`). Needs APP_CONFIG (with `authEnv` in the schema) and REDIS_CLIENT.
 */
@Global()
@Module({ providers, exports: providers })
export class AuthModule {
  static forRoot(): DynamicModule {
    return { module: AuthModule, global: true };
  }
}
