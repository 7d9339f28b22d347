/**
 * The billing service's messages (invoices, failed payments, suspension and termination). Kept apart from
 * templates.ts so billing adds its own without touching the account messages.
 */
import type { RenderedMail } from './templates';

export interface BillingMailTemplates {
  billing_invoice_created: {
    first_name: string;
    invoice_number: string;
    amount: string;
    balance: string;
    currency: string;
    invoice_date: string;
    billing_url: string;
  };
  billing_payment_failed: {
    first_name: string;
    invoice_number: string;
    balance: string;
    currency: string;
    billing_url: string;
  };
  billing_instance_suspended: {
    first_name: string;
    instance_id: string;
    reason: string;
    billing_url: string;
  };
  billing_instance_resumed: { first_name: string; instance_id: string };
  billing_instance_terminated: { first_name: string; instance_id: string; billing_url: string };
  billing_payment_receipt: {
    first_name: string;
    payment_id: string;
    invoice_id: string;
    amount: string;
    currency: string;
    method: string;
    gateway_reference: string;
  };
  billing_payment_not_completed: {
    first_name: string;
    payment_id: string;
    invoice_id: string;
    amount: string;
    currency: string;
    outcome: string;
    billing_url: string;
  };
}

export type BillingMailTemplateName = keyof BillingMailTemplates;

export const BILLING_MAIL_TEMPLATES: readonly BillingMailTemplateName[] = [
  'billing_invoice_created',
  'billing_payment_failed',
  'billing_instance_suspended',
  'billing_instance_resumed',
  'billing_instance_terminated',
  'billing_payment_receipt',
  'billing_payment_not_completed',
];

const PRODUCT = 'SaaS Odoo';

function escapeHtml(value: string): string {
  return value.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function render(
  subject: string,
  greeting: string,
  paragraphs: string[],
  action?: { label: string; url: string },
): RenderedMail {
  const text = [
    greeting,
    '',
    ...paragraphs.flatMap((p) => [p, '']),
    ...(action ? [`${action.label}: ${action.url}`, ''] : []),
    `-- ${PRODUCT}`,
  ].join('\n');
  const html = [
    '<!doctype html><html><body style="font-family:sans-serif;line-height:1.5">',
    `<p>${escapeHtml(greeting)}</p>`,
    ...paragraphs.map((p) => `<p>${escapeHtml(p)}</p>`),
    ...(action ? [`<p><a href="${escapeHtml(action.url)}">${escapeHtml(action.label)}</a></p>`] : []),
    `<p>&mdash; ${PRODUCT}</p>`,
    '</body></html>',
  ].join('\n');
  return { subject, text, html };
}

const renderers: { [K in BillingMailTemplateName]: (vars: BillingMailTemplates[K]) => RenderedMail } = {
  billing_invoice_created: (v) =>
    render(
      `Your ${PRODUCT} invoice ${v.invoice_number}`,
      `Hello ${v.first_name},`,
      [
        `Invoice ${v.invoice_number} of ${v.invoice_date} is ready: ${v.amount} ${v.currency}.`,
        `Amount due: ${v.balance} ${v.currency}.`,
      ],
      { label: 'View and pay your invoices', url: v.billing_url },
    ),
  billing_payment_failed: (v) =>
    render(
      `Payment failed for invoice ${v.invoice_number}`,
      `Hello ${v.first_name},`,
      [
        `We could not collect the payment of invoice ${v.invoice_number}. ${v.balance} ${v.currency} is still due.`,
        'Unpaid invoices lead to the suspension of your instances.',
      ],
      { label: 'Pay now', url: v.billing_url },
    ),
  billing_instance_suspended: (v) =>
    render(
      `Your ${PRODUCT} instance is suspended`,
      `Hello ${v.first_name},`,
      [
        `Instance ${v.instance_id} has been suspended: ${v.reason}.`,
        'Your data is kept. The instance starts again as soon as the balance is paid.',
      ],
      { label: 'Settle your balance', url: v.billing_url },
    ),
  billing_instance_resumed: (v) =>
    render(`Your ${PRODUCT} instance is running again`, `Hello ${v.first_name},`, [
      `Thank you: instance ${v.instance_id} is no longer suspended and is being started again.`,
    ]),
  billing_instance_terminated: (v) =>
    render(
      `Your ${PRODUCT} instance has been terminated`,
      `Hello ${v.first_name},`,
      [
        `The subscription of instance ${v.instance_id} has ended, so the instance has been terminated.`,
        'Its data is kept for the retention period; contact us to restore it.',
      ],
      { label: 'Billing', url: v.billing_url },
    ),
  billing_payment_receipt: (v) =>
    render(`Payment received: ${v.amount} ${v.currency}`, `Hello ${v.first_name},`, [
      `Thank you: we received ${v.amount} ${v.currency} by ${v.method} for invoice ${v.invoice_id}.`,
      `Payment ${v.payment_id}, gateway reference ${v.gateway_reference}.`,
    ]),
  billing_payment_not_completed: (v) =>
    render(
      `Your payment of ${v.amount} ${v.currency} was ${v.outcome}`,
      `Hello ${v.first_name},`,
      [
        `Payment ${v.payment_id} for invoice ${v.invoice_id} was ${v.outcome}; nothing was charged by us.`,
        'The invoice is still due. You can try again with another method or number.',
      ],
      { label: 'Pay now', url: v.billing_url },
    ),
};

export function renderBillingMail<K extends BillingMailTemplateName>(
  template: K,
  vars: BillingMailTemplates[K],
): RenderedMail {
  return renderers[template](vars);
}
