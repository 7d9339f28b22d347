import { Injectable, Logger } from '@nestjs/common';
import { BillingEvents } from '../common/billing-events';
import { CoalescingQueue } from '../common/coalescing-queue';
import { Semaphore } from '../common/semaphore';
import { BillingMailDispatcher } from '../notifications/billing-mail.dispatcher';
import { PaymentGateway, PaymentStatus } from './payment-gateway';
import { PaymentMail } from './payment-mail';
import { PaymentMetrics } from './payment-metrics';
import { PaymentRow, PaymentsRepository } from './payments.repository';
import { SettlementOutbox } from './settlement-outbox.service';
import { SettlementsRepository } from './settlements.repository';

const cents = (amount: number) => Math.round(amount * 100);

/** Which status changes a confirmation may make (anything else is logged and left alone). */
function allowed(from: PaymentStatus, to: PaymentStatus): boolean {
  if (from === to) return false;
  if (from === 'pending') return true;
  // Money taken after we gave up on the payment (expired, or a failure the gateway later reversed): record it.
  if (from === 'cancelled' || from === 'failed') return to === 'paid';
  if (from === 'paid') return to === 'refunded' || to === 'disputed';
  if (from === 'disputed') return to === 'paid' || to === 'refunded';
  return false;
}

/**
 * The one writer of a payment's status. Never trusts a single message: whatever prompted it (a status update,
 * the poller, the customer), it polls the gateway and believes only that answer, checks the amount, and makes
 * the change with a compare-and-set. A payment that becomes paid gets its Kill Bill outbox row and its receipt
 * in the same transaction. Confirmations of one payment are coalesced in process.
 */
@Injectable()
export class PaymentConfirmation {
  private readonly logger = new Logger('PaymentConfirmation');
  private readonly queue = new CoalescingQueue<PaymentRow | null>(new Semaphore(16));

  constructor(
    private readonly gateway: PaymentGateway,
    private readonly payments: PaymentsRepository,
    private readonly settlements: SettlementsRepository,
    private readonly outbox: SettlementOutbox,
    private readonly mail: PaymentMail,
    private readonly dispatcher: BillingMailDispatcher,
    private readonly metrics: PaymentMetrics,
    private readonly events: BillingEvents,
  ) {}

  confirm(paymentId: string, reason: string): Promise<PaymentRow | null> {
    return this.queue.run(paymentId, () => this.confirmNow(paymentId, reason));
  }

  private async confirmNow(paymentId: string, reason: string): Promise<PaymentRow | null> {
    const row = await this.payments.find(paymentId);
    if (!row?.pollUrl || row.gateway !== this.gateway.name) return row;
    const report = await this.gateway.check(row.pollUrl);
    if (report.reference !== row.id) {
      this.logger.error({ msg: 'ALERT: the poll answered for another payment', payment_id: row.id, reason });
      return row;
    }
    let target = report.status;
    let failureReason: string | null = null;
    if (target === 'paid' && (report.amount === null || cents(report.amount) !== cents(row.amount))) {
      target = 'failed';
      failureReason = `amount mismatch: asked ${row.amount.toFixed(2)}, the gateway reports ${report.amount ?? 'none'}`;
      this.logger.error({
        msg: 'ALERT: payment amount mismatch, not recorded',
        payment_id: row.id,
        failureReason,
      });
    } else if (target === 'pending') {
      if (Date.now() < row.expiresAt.getTime()) {
        await this.payments.noteGatewayStatus(row.id, report.gatewayStatus);
        return row;
      }
      target = 'cancelled';
      failureReason = 'expired: not paid in time';
    } else if (target === 'failed' || target === 'cancelled') {
      failureReason = `gateway status ${report.gatewayStatus}`;
    }
    if (!allowed(row.status, target)) return row;

    const changed = await this.payments.transaction(async (manager) => {
      const updated = await this.payments.transition(manager, row.id, row.status, target, {
        gatewayStatus: report.gatewayStatus,
        failureReason,
      });
      if (!updated) return null;
      if (target === 'paid') {
        await this.settlements.enqueue(manager, {
          paymentId: row.id,
          invoiceId: row.invoiceId,
          kbAccountId: row.kbAccountId,
          amount: row.amount,
        });
      }
      await this.mail.queue(manager, updated);
      return updated;
    });
    if (!changed) return this.payments.find(row.id); // another confirmation won the race
    this.events.paymentChanged(changed);
    this.metrics.status(row.method, target);
    const log = { msg: 'payment status changed', payment_id: row.id, from: row.status, to: target, reason };
    if (row.status === 'paid' || (target === 'paid' && row.status !== 'pending')) {
      this.logger.error({ ...log, msg: `ALERT: ${log.msg} after it was settled or closed` });
    } else {
      this.logger.log(log);
    }
    if (target === 'paid') {
      this.metrics.confirmed(row.createdAt);
      this.outbox.kick();
    }
    this.dispatcher.kick();
    return changed;
  }
}
