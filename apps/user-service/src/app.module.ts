import { Module } from '@nestjs/common';
import { AuthModule } from '@app/auth';
import { ServesApiReference } from '@app/http';
import { MailModule } from '@app/mail';
import { ServiceCoreModule } from '@app/platform';
import { AccountsModule } from './accounts.module';
import { envSchema } from './config/env';
import { dataSourceSpec } from './database/data-source';

/** user-service also serves the merged public API reference (README: API reference). */
@ServesApiReference()
@Module({
  imports: [
    ServiceCoreModule.forService({ envSchema, dataSource: dataSourceSpec }),
    AuthModule.forRoot(),
    MailModule.forRoot(),
    AccountsModule,
  ],
})
export class AppModule {}
