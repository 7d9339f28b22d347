import { DynamicModule, Global, Module } from '@nestjs/common';
import { APP_CONFIG } from '@app/config';
import { DatabaseModule } from '@app/database';
import { AdminAccountsService } from '../admin/admin-accounts.service';
import { Clock } from '../common/clock';
import { RandomSource } from '../common/random';
import type { CliConfig } from '../config/env';
import { dataSourceSpec } from '../database/data-source';
import { PasswordHasher } from '../security/password-hasher';
import { UsersRepository } from '../users/users.repository';

@Global()
@Module({})
class CliConfigModule {
  static withConfig(config: CliConfig): DynamicModule {
    return {
      module: CliConfigModule,
      providers: [{ provide: APP_CONFIG, useValue: config }],
      exports: [APP_CONFIG],
    };
  }
}

/** What the operator commands need: the database (migrated, behind the DB-user guard) and the account services. */
@Module({})
export class CliModule {
  static withConfig(config: CliConfig): DynamicModule {
    return {
      module: CliModule,
      imports: [CliConfigModule.withConfig(config), DatabaseModule.forService(dataSourceSpec)],
      providers: [Clock, RandomSource, UsersRepository, PasswordHasher, AdminAccountsService],
    };
  }
}
