import { Module } from '@nestjs/common';
import { AuthModule } from '@app/auth';
import { MailModule } from '@app/mail';
import { ServiceCoreModule } from '@app/platform';
import { AccountsModule } from './accounts.module';
import { envSchema } from './config/env';
import { dataSourceSpec } from './database/data-source';

@Module({
  imports: [
    ServiceCoreModule.forService({ envSchema, dataSource: dataSourceSpec }),
    AuthModule.forRoot(),
    MailModule.forRoot(),
    AccountsModule,
  ],
})
export class AppModule {}
