import { Inject, Injectable, OnApplicationShutdown } from '@nestjs/common';
import { createTransport, Transporter } from 'nodemailer';
import { MAIL_SETTINGS } from './mail.env';
import type { MailEnv } from './mail.env';

export interface OutgoingMail {
  to: string;
  subject: string;
  text: string;
  html?: string;
}

export interface SentMail {
  message_id: string;
}

/** The one door to SMTP; a unit test swaps exactly this. */
export abstract class MailSender {
  abstract send(mail: OutgoingMail): Promise<SentMail>;
}

@Injectable()
export class SmtpMailSender extends MailSender implements OnApplicationShutdown {
  private readonly transport: Transporter;
  private readonly from: string;

  constructor(@Inject(MAIL_SETTINGS) settings: MailEnv) {
    super();
    this.from = settings.SMTP_FROM;
    this.transport = createTransport({
      host: settings.SMTP_HOST,
      port: settings.SMTP_PORT,
      secure: settings.SMTP_SECURE,
      auth: settings.SMTP_USER ? { user: settings.SMTP_USER, pass: settings.SMTP_PASSWORD ?? '' } : undefined,
      connectionTimeout: settings.SMTP_TIMEOUT_MS,
      greetingTimeout: settings.SMTP_TIMEOUT_MS,
      socketTimeout: settings.SMTP_TIMEOUT_MS,
    });
    // Failures reach the caller through sendMail's rejection; the event must not go unheard.
    this.transport.on('error', () => undefined);
  }

  async send(mail: OutgoingMail): Promise<SentMail> {
    const info = (await this.transport.sendMail({ from: this.from, ...mail })) as { messageId: string };
    return { message_id: info.messageId };
  }

  onApplicationShutdown(): void {
    this.transport.close();
  }
}
