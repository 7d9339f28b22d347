import { Inject, Injectable, Logger, OnApplicationBootstrap, OnModuleDestroy } from '@nestjs/common';
import { APP_CONFIG } from '@app/config';
import { errorMessage } from '../common/ids';
import { forEachLimit, PollingLoop } from '../common/polling-loop';
import type { Config } from '../config/env';
import { EntitlementSyncService } from '../entitlements/entitlement-sync.service';
import { KillBillClient } from '../killbill/killbill.client';
import { KillBillBadRequestError, KillBillConflictError } from '../killbill/killbill.errors';
import { PaymentsRepository } from './payments.repository';
import { SettlementRow, SettlementsRepository } from './settlements.repository';

const BATCH = 16;
const RETRY_MAX_MS = 300_000;

/**
 * Records paid payments in Kill Bill exactly once: `POST /invoices/{id}/payments?externalPayment=true` with
 * paymentExternalKey = our payment id, retried with backoff until Kill Bill accepts. Before each attempt (and
 * after a refusal) it looks for a Kill Bill payment with our key: found means done, whatever the earlier attempt
 * did (a crash after Kill Bill's 201, a duplicate-key answer). Then it re-reads the account at once (act on
 * your own writes), so the instance resumes without waiting for Kill Bill's push.
 */
@Injectable()
export class SettlementOutbox implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger('SettlementOutbox');
  private readonly loop: PollingLoop;
  /** Longer than one attempt (up to three Kill Bill calls), short enough that a crash delays a payment little. */
  private readonly leaseMs: number;

  constructor(
    @Inject(APP_CONFIG) config: Config,
    private readonly settlements: SettlementsRepository,
    private readonly payments: PaymentsRepository,
    private readonly killbill: KillBillClient,
    private readonly sync: EntitlementSyncService,
  ) {
    this.leaseMs = 3 * config.KILLBILL_TIMEOUT_MS + 5_000;
    this.loop = new PollingLoop('SettlementOutbox', config.PAYMENT_WORK_POLL_MS, () => this.drainOnce());
  }

  onApplicationBootstrap(): void {
    this.loop.start();
  }

  async onModuleDestroy(): Promise<void> {
    await this.loop.stop();
  }

  kick(): void {
    this.loop.kick();
  }

  drainNow(): Promise<void> {
    return this.loop.drainNow();
  }

  /** Records one payment now (the operator's route); null if another worker holds it or it failed (retried). */
  async settleNow(paymentId: string): Promise<boolean> {
    const [row] = await this.settlements.claim(1, this.leaseMs, paymentId);
    return row ? this.settle(row) : false;
  }

  private async drainOnce(): Promise<number> {
    const rows = await this.settlements.claim(BATCH, this.leaseMs);
    await forEachLimit(rows, 4, async (row) => {
      await this.settle(row);
    });
    return rows.length;
  }

  private async settle(row: SettlementRow): Promise<boolean> {
    try {
      let kbPaymentId = await this.existing(row);
      let outcome = 'already_recorded';
      if (!kbPaymentId) {
        try {
          kbPaymentId = await this.killbill.createExternalPayment(row.invoiceId, {
            accountId: row.kbAccountId,
            amount: row.amount,
            paymentExternalKey: row.paymentId,
          });
          outcome = kbPaymentId ? 'recorded' : 'nothing_to_pay';
          if (!kbPaymentId) {
            this.logger.error({
              msg: 'ALERT: paid payment not recorded, the invoice had nothing left to pay',
              payment_id: row.paymentId,
              invoice_id: row.invoiceId,
            });
          }
        } catch (error) {
          // "Key already exists" (Kill Bill's exact answer is unverified: 400 7032 in the emulator) = done.
          if (!(error instanceof KillBillBadRequestError || error instanceof KillBillConflictError))
            throw error;
          kbPaymentId = await this.existing(row);
          if (!kbPaymentId) throw error;
        }
      }
      await this.settlements.done(row.paymentId, kbPaymentId, outcome);
      await this.payments.markRecorded(row.paymentId, kbPaymentId);
      this.logger.log({
        msg: 'payment recorded in Kill Bill',
        payment_id: row.paymentId,
        kb_payment_id: kbPaymentId,
        outcome,
      });
      await this.sync.syncAccount(row.kbAccountId, 'payment recorded').catch((error: unknown) =>
        // Recorded; Kill Bill's INVOICE_PAYMENT_SUCCESS and the 30 s re-check apply it if this read fails.
        this.logger.warn({
          msg: 'sync after payment failed',
          payment_id: row.paymentId,
          error: errorMessage(error),
        }),
      );
      return true;
    } catch (error) {
      const retryIn = Math.min(1_000 * 2 ** (row.attempts - 1), RETRY_MAX_MS);
      this.logger.warn({
        msg: 'payment not recorded in Kill Bill yet, will retry',
        payment_id: row.paymentId,
        attempt: row.attempts,
        retry_in_ms: retryIn,
        error: errorMessage(error),
      });
      await this.settlements.retry(row.paymentId, errorMessage(error), retryIn);
      return false;
    }
  }

  private async existing(row: SettlementRow): Promise<string | null> {
    const payments = await this.killbill.getInvoicePayments(row.invoiceId);
    return payments.find((p) => p.paymentExternalKey === row.paymentId)?.paymentId ?? null;
  }
}
