export * from './mail.env';
export * from './templates';
export * from './mail-sender';
export * from './mailer';
export * from './mail.module';
export * from './billing-templates';
