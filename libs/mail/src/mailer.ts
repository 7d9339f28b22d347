import { Injectable } from '@nestjs/common';
import { MailSender, SentMail } from './mail-sender';
import { MailTemplateName, MailTemplates, renderMail } from './templates';

/** Sends the platform's templated messages. */
@Injectable()
export class Mailer {
  constructor(private readonly sender: MailSender) {}

  send<K extends MailTemplateName>(to: string, template: K, vars: MailTemplates[K]): Promise<SentMail> {
    return this.sender.send({ to, ...renderMail(template, vars) });
  }
}
