import { Inject, Injectable, Logger } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import type { AuthenticatedUser } from '@app/auth';
import { APP_CONFIG } from '@app/config';
import { ConflictError, NotFoundError, ValidationFailedError } from '@app/http';
import { MembershipService } from '../access/membership.service';
import { isUuid } from '../common/ids';
import { isUniqueViolation } from '../common/sql';
import type { Config } from '../config/env';
import { KillBillClient } from '../killbill/killbill.client';
import { KillBillNotFoundError } from '../killbill/killbill.errors';
import type { KbInvoice } from '../killbill/killbill.types';
import {
  MOBILE_METHODS,
  PaymentGateway,
  PaymentGatewayUnavailableError,
  PaymentMethod,
  PaymentRefusedError,
  PaymentStatus,
} from './payment-gateway';
import { PaymentMetrics } from './payment-metrics';
import { paymentView, PaymentView } from './payment.views';
import { PaymentRow, PaymentsRepository } from './payments.repository';
import { SettlementOutbox } from './settlement-outbox.service';
import { SettlementsRepository } from './settlements.repository';

/** 07XXXXXXXX from 07…, 2637… or +2637… (spaces and dashes allowed); null otherwise. */
export function normalisePhone(phone: string): string | null {
  const match = /^(?:\+?263|0)(7\d{8})$/.exec(phone.replace(/[\s-]/g, ''));
  return match ? `0${match[1]}` : null;
}

export class PaymentPendingError extends ConflictError {
  constructor(pending: PaymentView) {
    super('PAYMENT_PENDING', 'This invoice already has a payment in progress', [{ payment: pending }]);
  }
}

/** Starting payments, reading them, and the operator's manual payment (the same exactly-once path into Kill Bill). */
@Injectable()
export class PaymentsService {
  private readonly logger = new Logger('Payments');

  constructor(
    @Inject(APP_CONFIG) private readonly config: Config,
    private readonly gateway: PaymentGateway,
    private readonly payments: PaymentsRepository,
    private readonly settlements: SettlementsRepository,
    private readonly outbox: SettlementOutbox,
    private readonly killbill: KillBillClient,
    private readonly membership: MembershipService,
    private readonly metrics: PaymentMetrics,
  ) {}

  async start(
    user: AuthenticatedUser,
    input: { invoiceId: string; method: PaymentMethod; phone?: string },
  ): Promise<PaymentView> {
    this.gateway.ensureEnabled();
    let phone: string | null = null;
    if (MOBILE_METHODS.includes(input.method)) {
      phone = input.phone ? normalisePhone(input.phone) : null;
      if (!phone) {
        throw new ValidationFailedError(`${input.method} needs a phone number: 07XXXXXXXX or +2637XXXXXXXX`, [
          { field: 'phone', value: input.phone ?? null },
        ]);
      }
    }
    const { invoice, tenantId } = await this.invoiceOf(input.invoiceId);
    await this.membership.require(user, tenantId, 'Invoice', 'manage');
    const balance = invoice.balance ?? 0;
    if (balance <= 0) throw new ConflictError('INVOICE_NOT_DUE', 'The invoice has nothing left to pay');
    const pending = await this.payments.findPendingForInvoice(invoice.invoiceId);
    if (pending) throw new PaymentPendingError(paymentView(pending));

    const id = randomUUID();
    let row: PaymentRow;
    try {
      row = await this.payments.insert(
        {
          id,
          tenantId,
          kbAccountId: invoice.accountId,
          invoiceId: invoice.invoiceId,
          amount: balance,
          currency: invoice.currency ?? this.config.KILLBILL_CURRENCY,
          method: input.method,
          phone,
          gateway: this.gateway.name,
          gatewayReference: null,
          createdBy: user.id,
          expiresAt: new Date(Date.now() + this.config.PAYMENT_EXPIRY_MINUTES * 60_000),
        },
        'pending',
      );
    } catch (error) {
      if (!isUniqueViolation(error)) throw error;
      const winner = await this.payments.findPendingForInvoice(invoice.invoiceId);
      if (winner) throw new PaymentPendingError(paymentView(winner));
      throw error;
    }
    this.metrics.status(row.method, 'pending');
    try {
      const started = await this.gateway.start({
        reference: id,
        amount: balance,
        description: `Invoice ${String(invoice.invoiceNumber ?? invoice.invoiceId)}`,
        method: input.method,
        phone: phone ?? undefined,
        customerEmail: user.email,
      });
      row = await this.payments.markStarted(
        id,
        started,
        new Date(Date.now() + this.config.PAYMENT_POLL_MIN_MS),
      );
    } catch (error) {
      const reason =
        error instanceof PaymentRefusedError
          ? `refused by the gateway: ${error.gatewayMessage}`
          : error instanceof PaymentGatewayUnavailableError
            ? `gateway unavailable: ${error.detail}`
            : 'the start failed';
      // Nothing is kept pending: a refused or unanswered start frees the invoice for another attempt.
      await this.payments.transaction((manager) =>
        this.payments.transition(manager, id, 'pending', 'failed', { failureReason: reason }),
      );
      this.metrics.status(row.method, 'failed');
      this.logger.warn({ msg: 'payment start refused', payment_id: id, reason });
      throw error;
    }
    this.logger.log({
      msg: 'payment started',
      payment_id: id,
      invoice_id: invoice.invoiceId,
      method: input.method,
    });
    return paymentView(row);
  }

  async get(user: AuthenticatedUser, id: string): Promise<PaymentView> {
    const row = await this.payments.find(id);
    if (!row) throw new NotFoundError('Payment');
    await this.membership.require(user, row.tenantId, 'Payment', 'view');
    return paymentView(row);
  }

  async list(user: AuthenticatedUser, filter: { tenantId?: string; status?: PaymentStatus }) {
    const tenants = await this.membership.visibleTenants(user, filter.tenantId);
    if (tenants.length === 0) return [];
    const rows = await this.payments.list({ tenantIds: tenants.map((t) => t.id), status: filter.status });
    return rows.map(paymentView);
  }

  async listAll(status?: PaymentStatus): Promise<PaymentView[]> {
    return (await this.payments.list({ status })).map(paymentView);
  }

  /**
   * An operator records a payment made outside the platform: a paid payment row and its outbox row in one
   * transaction (idempotent on the reference), then recorded in Kill Bill at once (or by the outbox later).
   */
  async recordManual(
    invoiceId: string,
    input: { reference: string; amount?: number },
    adminId: string,
  ): Promise<{ invoice_id: string; payment_id: string | null; paid: boolean; payment: PaymentView | null }> {
    const { invoice, tenantId } = await this.invoiceOf(invoiceId);
    let row = await this.payments.findManual(input.reference);
    const amount = input.amount ?? invoice.balance ?? 0;
    if (!row) {
      if (amount <= 0) return { invoice_id: invoiceId, payment_id: null, paid: false, payment: null };
      const id = randomUUID();
      try {
        row = await this.payments.transaction(async (manager) => {
          const inserted = await this.payments.insert(
            {
              id,
              tenantId,
              kbAccountId: invoice.accountId,
              invoiceId,
              amount,
              currency: invoice.currency ?? this.config.KILLBILL_CURRENCY,
              method: 'manual',
              phone: null,
              gateway: 'manual',
              gatewayReference: input.reference,
              createdBy: adminId,
              expiresAt: new Date(),
            },
            'paid',
            manager,
          );
          await this.settlements.enqueue(manager, {
            paymentId: id,
            invoiceId,
            kbAccountId: invoice.accountId,
            amount,
          });
          return inserted;
        });
        this.metrics.status('manual', 'paid');
      } catch (error) {
        if (!isUniqueViolation(error)) throw error;
        row = await this.payments.findManual(input.reference);
      }
    }
    if (!row) throw new Error('unreachable: manual payment vanished');
    if (!row.recordedAt && !(await this.outbox.settleNow(row.id))) {
      // Held by the outbox loop right now, or Kill Bill refused for the moment: give it a few seconds.
      for (let i = 0; i < 50 && !(await this.payments.find(row.id))?.recordedAt; i++) {
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    }
    const now = (await this.payments.find(row.id)) ?? row;
    return {
      invoice_id: invoiceId,
      payment_id: now.kbPaymentId,
      paid: now.kbPaymentId !== null,
      payment: paymentView(now),
    };
  }

  private async invoiceOf(invoiceId: string): Promise<{ invoice: KbInvoice; tenantId: string }> {
    try {
      const invoice = await this.killbill.getInvoice(invoiceId);
      const account = await this.killbill.getAccount(invoice.accountId);
      if (!isUuid(account.externalKey)) throw new NotFoundError('Invoice');
      return { invoice, tenantId: account.externalKey };
    } catch (error) {
      if (error instanceof KillBillNotFoundError) throw new NotFoundError('Invoice');
      throw error;
    }
  }
}
