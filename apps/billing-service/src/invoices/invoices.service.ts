import { ApiProperty } from '@nestjs/swagger';
import { Injectable } from '@nestjs/common';
import type { AuthenticatedUser } from '@app/auth';
import { MembershipService } from '../access/membership.service';
import { BillingAccountsRepository } from '../records/billing-accounts.repository';
import { BillingProvider } from '../billing-provider/billing-provider';
import type { KbInvoice } from '../killbill/killbill.types';

export class InvoiceItemView {
  @ApiProperty()
  id: string;
  @ApiProperty({ type: 'string', nullable: true })
  subscription_id: string | null;
  @ApiProperty({ type: 'string', nullable: true })
  plan_name: string | null;
  @ApiProperty({ type: 'string', nullable: true })
  phase_name: string | null;
  @ApiProperty({ type: 'string', nullable: true, example: 'RECURRING' })
  item_type: string | null;
  @ApiProperty({ type: 'string', nullable: true })
  description: string | null;
  @ApiProperty({ type: 'string', nullable: true, example: '2026-01-01' })
  start_date: string | null;
  @ApiProperty({ type: 'string', nullable: true, example: '2026-02-01' })
  end_date: string | null;
  @ApiProperty()
  amount: number;
}

export class InvoiceView {
  @ApiProperty()
  id: string;
  @ApiProperty({ format: 'uuid' })
  tenant_id: string;
  @ApiProperty({ type: 'string', nullable: true })
  invoice_number: string | null;
  @ApiProperty({ type: 'string', nullable: true, example: '2026-01-01' })
  invoice_date: string | null;
  @ApiProperty({ type: 'string', nullable: true, example: '2026-01-01' })
  target_date: string | null;
  @ApiProperty({ type: 'string', nullable: true, example: 'COMMITTED' })
  status: string | null;
  @ApiProperty({ type: 'string', nullable: true, example: 'USD' })
  currency: string | null;
  @ApiProperty()
  amount: number;
  @ApiProperty()
  balance: number;
  @ApiProperty({ type: [InvoiceItemView] })
  items: InvoiceItemView[];
}

export class InvoiceList {
  @ApiProperty({ type: [InvoiceView] })
  invoices: InvoiceView[];
  @ApiProperty({ type: 'integer' })
  total: number;
}

function invoiceView(invoice: KbInvoice, tenantId: string): InvoiceView {
  return {
    id: invoice.invoiceId,
    tenant_id: tenantId,
    invoice_number:
      invoice.invoiceNumber === null || invoice.invoiceNumber === undefined
        ? null
        : String(invoice.invoiceNumber),
    invoice_date: invoice.invoiceDate ?? null,
    target_date: invoice.targetDate ?? null,
    status: invoice.status ?? null,
    currency: invoice.currency ?? null,
    amount: invoice.amount ?? 0,
    balance: invoice.balance ?? 0,
    items: (invoice.items ?? []).map((item) => ({
      id: item.invoiceItemId,
      subscription_id: item.subscriptionId ?? null,
      plan_name: item.planName ?? null,
      phase_name: item.phaseName ?? null,
      item_type: item.itemType ?? null,
      description: item.description ?? null,
      start_date: item.startDate ?? null,
      end_date: item.endDate ?? null,
      amount: item.amount ?? 0,
    })),
  };
}

@Injectable()
export class InvoicesService {
  constructor(
    private readonly provider: BillingProvider,
    private readonly accounts: BillingAccountsRepository,
    private readonly membership: MembershipService,
  ) {}

  /** Invoices (with items and real amounts) of my tenants' accounts, newest first. */
  async list(user: AuthenticatedUser, tenantId?: string): Promise<InvoiceView[]> {
    const tenants = await this.membership.visibleTenants(user, tenantId);
    const accounts = (await this.accounts.findByTenants(tenants.map((t) => t.id))).filter(
      (a) => a.kbAccountId,
    );
    const lists = await Promise.all(
      accounts.map(async (a) =>
        (await this.provider.accountInvoices(a.kbAccountId as string)).map((i) => invoiceView(i, a.tenantId)),
      ),
    );
    return lists
      .flat()
      .sort(
        (a, b) =>
          (b.invoice_date ?? '').localeCompare(a.invoice_date ?? '') ||
          Number(b.invoice_number ?? 0) - Number(a.invoice_number ?? 0),
      );
  }
}
