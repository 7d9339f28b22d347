import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { PAYMENT_METHODS, PAYMENT_STATUSES } from './payment-gateway';
import type { PaymentRow } from './payments.repository';

/** A payment as the API shows it (POST/GET /api/billing/payments, admin list, manual payment). */
export class PaymentView {
  @ApiProperty({ format: 'uuid', description: 'Our payment id (also the Kill Bill paymentExternalKey)' })
  id: string;
  @ApiProperty({ format: 'uuid' })
  invoice_id: string;
  @ApiProperty({ format: 'uuid' })
  tenant_id: string;
  @ApiProperty({ description: "The invoice's balance when the payment started", example: 5 })
  amount: number;
  @ApiProperty({ example: 'USD' })
  currency: string;
  @ApiProperty({ enum: [...PAYMENT_METHODS, 'manual'], example: 'ecocash' })
  method: string;
  @ApiProperty({ enum: PAYMENT_STATUSES })
  status: string;
  @ApiPropertyOptional({ description: "PayNow's instructions to show the customer (mobile, while pending)" })
  instructions?: string;
  @ApiPropertyOptional({ description: "PayNow's page to send the customer to (card, while pending)" })
  redirect_url?: string;
  @ApiProperty({ type: 'string', nullable: true })
  failure_reason: string | null;
  @ApiProperty({ description: 'Recorded in Kill Bill' })
  recorded: boolean;
  @ApiProperty({ format: 'date-time' })
  created_at: string;
  @ApiProperty({ type: 'string', format: 'date-time', nullable: true })
  paid_at: string | null;
}

export class PaymentList {
  @ApiProperty({ type: [PaymentView] })
  payments: PaymentView[];
  @ApiProperty({ type: 'integer' })
  total: number;
}

export class ManualPaymentResult {
  @ApiProperty({ format: 'uuid' })
  invoice_id: string;
  @ApiProperty({ type: 'string', nullable: true, description: 'Our payment id; null when nothing was due' })
  payment_id: string | null;
  @ApiProperty()
  paid: boolean;
  @ApiProperty({ type: PaymentView, nullable: true })
  payment: PaymentView | null;
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
