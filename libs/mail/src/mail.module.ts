import { DynamicModule, Global, Module } from '@nestjs/common';
import { APP_CONFIG } from '@app/config';
import { MailSender, SmtpMailSender } from './mail-sender';
import { MAIL_SETTINGS, mailSettingsFrom } from './mail.env';
import { Mailer } from './mailer';

const providers = [
  { provide: MAIL_SETTINGS, inject: [APP_CONFIG], useFactory: mailSettingsFrom },
  { provide: MailSender, useClass: SmtpMailSender },
  Mailer,
];

/** SMTP mail for the app (`mailEnv` in its env schema). */
@Global()
@Module({ providers, exports: [MailSender, Mailer] })
export class MailModule {
  static forRoot(): DynamicModule {
    return { module: MailModule, global: true };
  }
}
