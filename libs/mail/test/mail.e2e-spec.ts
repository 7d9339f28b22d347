import { Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { INestApplicationContext } from '@nestjs/common';
import { z } from 'zod';
import { commonEnv, ConfigModule } from '@app/config';
import { Mailer, MailModule, mailEnv, renderMail } from '@app/mail';
import { SmtpSink, tokenFromMail } from '@app/testing';

describe('@app/mail through real SMTP', () => {
  const smtp = new SmtpSink();
  let context: INestApplicationContext;

  beforeAll(async () => {
    await smtp.start();
    const schema = z.object({ ...commonEnv.shape, ...mailEnv.shape });
    @Module({ imports: [ConfigModule.forRoot(schema), MailModule.forRoot()] })
    class MailApp {}
    const saved = { ...process.env };
    Object.assign(process.env, {
      SMTP_HOST: '127.0.0.1',
      SMTP_PORT: String(smtp.port),
      SMTP_FROM: 'Platform <no-reply@saasodoo.test>',
    });
    try {
      context = await NestFactory.createApplicationContext(MailApp, { logger: false });
    } finally {
      process.env = saved;
    }
  });
  afterAll(async () => {
    await context?.close();
    await smtp.stop();
  });

  it('delivers each template with a subject, a text part and an HTML part', async () => {
    const mailer = context.get(Mailer);
    const url = `http://app.test/verify-email?token=${'Ab_-'.repeat(11)}`;
    await mailer.send('Someone@Example.test', 'verify_email', {
      first_name: 'Zoë',
      verification_url: url,
      expires_in_hours: 24,
    });
    const mail = await smtp.waitFor({ to: 'someone@example.test' });
    expect(mail.from).toContain('no-reply@saasodoo.test');
    expect(mail.subject).toBe('Confirm your email address for SaaS Odoo');
    expect(mail.text).toContain('Hello Zoë,');
    expect(mail.text).toContain(url);
    expect(mail.text).toContain('24 hours');
    expect(mail.html).toContain(`href="${url}"`);
    expect(tokenFromMail(mail, '/verify-email')).toBe('Ab_-'.repeat(11));

    await mailer.send('reset@example.test', 'password_reset', {
      first_name: 'Reset',
      reset_url: 'http://app.test/reset-password?token=abcdefghijklmnopqrstuvwxyz012345',
      expires_in_minutes: 60,
    });
    const reset = await smtp.waitFor({ to: 'reset@example.test' });
    expect(reset.subject).toMatch(/reset your saas odoo password/i);
    expect(tokenFromMail(reset, '/reset-password')).toBe('abcdefghijklmnopqrstuvwxyz012345');
  });

  it('escapes variables in HTML', () => {
    const { html, text } = renderMail('welcome', {
      first_name: '<script>alert(1)</script>',
      login_url: 'http://app.test/login?a=1&b="2"',
    });
    expect(html).not.toContain('<script>');
    expect(html).toContain('&#60;script&#62;');
    expect(html).toContain('href="http://app.test/login?a=1&#38;b=&#34;2&#34;"');
    expect(text).toContain('<script>alert(1)</script>');
  });

  it('rejects when the SMTP server is unreachable (so callers can log and retry)', async () => {
    const schema = z.object({ ...commonEnv.shape, ...mailEnv.shape });
    @Module({ imports: [ConfigModule.forRoot(schema), MailModule] })
    class Unreachable {}
    const saved = { ...process.env };
    Object.assign(process.env, { SMTP_HOST: '127.0.0.1', SMTP_PORT: '1', SMTP_TIMEOUT_MS: '500' });
    let other: INestApplicationContext | undefined;
    try {
      other = await NestFactory.createApplicationContext(Unreachable, { logger: false });
    } finally {
      process.env = saved;
    }
    try {
      await expect(
        other
          .get(Mailer)
          .send('x@example.test', 'welcome', { first_name: 'X', login_url: 'http://app.test' }),
      ).rejects.toThrow();
    } finally {
      await other.close();
    }
  });
});
