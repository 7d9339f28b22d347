import type { PaymentRow } from './payments.repository';

export interface PaymentView {
  id: string;
  invoice_id: string;
  tenant_id: string;
  amount: number;
  currency: string;
  method: string;
  status: string;
  instructions?: string;
  redirect_url?: string;
  failure_reason: string | null;
  recorded: boolean;
  created_at: string;
  paid_at: string | null;
}

export function paymentView(row: PaymentRow): PaymentView {
  return {
    id: row.id,
    invoice_id: row.invoiceId,
    tenant_id: row.tenantId,
    amount: row.amount,
    currency: row.currency.trim(),
    method: row.method,
    status: row.status,
    ...(row.instructions && row.status === 'pending' ? { instructions: row.instructions } : {}),
    ...(row.redirectUrl && row.status === 'pending' ? { redirect_url: row.redirectUrl } : {}),
    failure_reason: row.failureReason,
    recorded: row.recordedAt !== null,
    created_at: row.createdAt.toISOString(),
    paid_at: row.paidAt ? row.paidAt.toISOString() : null,
  };
}
