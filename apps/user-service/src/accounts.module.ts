import { Module } from '@nestjs/common';
import { APP_CONFIG } from '@app/config';
import type { Config } from './config/env';
import { AccountSummaryService } from './account-summary/account-summary.service';
import { AdminAccountsService } from './admin/admin-accounts.service';
import { AdminUsersController } from './admin/admin-users.controller';
import { AdminUsersService } from './admin/admin-users.service';
import { AuthController } from './auth/auth.controller';
import { SessionCookies } from './auth/session-cookies';
import { AuthService } from './auth/auth.service';
import { BackgroundTasks } from './common/background-tasks';
import { Clock } from './common/clock';
import { RandomSource } from './common/random';
import { EmailTokenService } from './email-tokens/email-token.service';
import { EmailTokensRepository } from './email-tokens/email-tokens.repository';
import { InternalUsersController } from './internal/internal-users.controller';
import { InternalUsersService } from './internal/internal-users.service';
import { LoginLockout } from './security/login-lockout';
import { PasswordConfirmation } from './security/password-confirmation';
import { PasswordHasher } from './security/password-hasher';
import { RateLimiter } from './security/rate-limiter';
import { SessionService } from './sessions/session.service';
import { SessionsRepository } from './sessions/sessions.repository';
import { AccessTokenIssuer } from './signing-keys/access-token.issuer';
import { JwksController } from './signing-keys/jwks.controller';
import { SigningKeyCipher } from './signing-keys/signing-key.cipher';
import { SigningKeyService } from './signing-keys/signing-key.service';
import { SigningKeysRepository } from './signing-keys/signing-keys.repository';
import { SupabaseAuthGateway } from './supabase/supabase-auth.gateway';
import { CustomerInstancesClient } from './users/customer-instances.client';
import { ProfileController } from './users/profile.controller';
import { ProfileService } from './users/profile.service';
import { UsersRepository } from './users/users.repository';

/** Accounts, sessions and tokens: everything user-service does beyond the shared service core. */
@Module({
  controllers: [
    AuthController,
    ProfileController,
    AdminUsersController,
    InternalUsersController,
    JwksController,
  ],
  providers: [
    Clock,
    RandomSource,
    BackgroundTasks,
    UsersRepository,
    SessionsRepository,
    EmailTokensRepository,
    SigningKeysRepository,
    PasswordHasher,
    RateLimiter,
    LoginLockout,
    PasswordConfirmation,
    CustomerInstancesClient,
    {
      provide: SigningKeyCipher,
      inject: [APP_CONFIG],
      useFactory: (config: Config) => new SigningKeyCipher(config.SIGNING_KEYS_ENCRYPTION_KEY),
    },
    SigningKeyService,
    AccessTokenIssuer,
    SessionService,
    SessionCookies,
    EmailTokenService,
    SupabaseAuthGateway,
    AuthService,
    AccountSummaryService,
    ProfileService,
    AdminUsersService,
    AdminAccountsService,
    InternalUsersService,
  ],
  exports: [AdminAccountsService, SigningKeyService, BackgroundTasks],
})
export class AccountsModule {}
