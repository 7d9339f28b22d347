/** Every message the platform sends, with the variables each one needs. Later issues add theirs here. */
export interface MailTemplates {
  welcome: { first_name: string; login_url: string };
  verify_email: { first_name: string; verification_url: string; expires_in_hours: number };
  password_reset: { first_name: string; reset_url: string; expires_in_minutes: number };
  storage_warning: { instance_name: string; used_percent: number; used: string; limit: string };
}

export type MailTemplateName = keyof MailTemplates;

export interface RenderedMail {
  subject: string;
  text: string;
  html: string;
}

const PRODUCT = 'SaaS Odoo';

function escapeHtml(value: string): string {
  return value.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

interface Layout {
  subject: string;
  greeting: string;
  paragraphs: string[];
  action?: { label: string; url: string };
  footer?: string;
}

function layout({ subject, greeting, paragraphs, action, footer }: Layout): RenderedMail {
  const text = [
    greeting,
    '',
    ...paragraphs.flatMap((p) => [p, '']),
    ...(action ? [`${action.label}: ${action.url}`, ''] : []),
    ...(footer ? [footer, ''] : []),
    `-- ${PRODUCT}`,
  ].join('\n');
  const html = [
    '<!doctype html><html><body style="font-family:sans-serif;line-height:1.5">',
    `<p>${escapeHtml(greeting)}</p>`,
    ...paragraphs.map((p) => `<p>${escapeHtml(p)}</p>`),
    ...(action ? [`<p><a href="${escapeHtml(action.url)}">${escapeHtml(action.label)}</a></p>`] : []),
    ...(footer ? [`<p style="color:#666">${escapeHtml(footer)}</p>`] : []),
    `<p>&mdash; ${PRODUCT}</p>`,
    '</body></html>',
  ].join('\n');
  return { subject, text, html };
}

const renderers: { [K in MailTemplateName]: (vars: MailTemplates[K]) => RenderedMail } = {
  welcome: (v) =>
    layout({
      subject: `Welcome to ${PRODUCT}`,
      greeting: `Hello ${v.first_name},`,
      paragraphs: [
        `Your ${PRODUCT} account is ready. Once your email address is confirmed you can create a workspace and start your first Odoo instance.`,
      ],
      action: { label: 'Log in', url: v.login_url },
    }),
  verify_email: (v) =>
    layout({
      subject: `Confirm your email address for ${PRODUCT}`,
      greeting: `Hello ${v.first_name},`,
      paragraphs: ['Please confirm your email address to activate your account.'],
      action: { label: 'Confirm your email address', url: v.verification_url },
      footer: `This link expires in ${v.expires_in_hours} hours. If you did not sign up, ignore this message.`,
    }),
  password_reset: (v) =>
    layout({
      subject: `Reset your ${PRODUCT} password`,
      greeting: `Hello ${v.first_name},`,
      paragraphs: ['Someone (hopefully you) asked to reset the password of your account.'],
      action: { label: 'Choose a new password', url: v.reset_url },
      footer: `This link expires in ${v.expires_in_minutes} minutes and works once. If you did not ask for it, ignore this message: your password stays the same.`,
    }),
  storage_warning: (v) =>
    layout({
      subject: `${v.instance_name} has used ${v.used_percent}% of its storage`,
      greeting: 'Hello,',
      paragraphs: [
        `Your Odoo instance ${v.instance_name} uses ${v.used} of its ${v.limit} of storage (files and database).`,
        'At 100 % backups, restores and upgrades are refused until usage is back under the limit. Remove data you no longer need, or move to a plan with more storage.',
      ],
    }),
};

export function renderMail<K extends MailTemplateName>(template: K, vars: MailTemplates[K]): RenderedMail {
  return renderers[template](vars);
}
