import { ApiProperty } from '@nestjs/swagger';
import { Inject, Injectable, Logger, OnApplicationBootstrap, OnModuleDestroy } from '@nestjs/common';
import type { Counter, Gauge } from 'prom-client';
import { APP_CONFIG } from '@app/config';
import { MetricsRegistry } from '@app/metrics';
import { BillingAccountsRepository } from '../records/billing-accounts.repository';
import { AdvisoryLocks } from '../common/advisory-lock';
import { errorMessage } from '../common/ids';
import { counter, gauge } from '../common/metrics';
import type { Config } from '../config/env';
import { BillingProvider } from '../billing-provider/billing-provider';
import { EntitlementSyncService } from '../entitlements/entitlement-sync.service';

export class ReconciliationError {
  @ApiProperty()
  account_id: string;
  @ApiProperty()
  error: string;
}

export class ReconciliationReport {
  @ApiProperty({ type: 'integer' })
  accounts: number;
  @ApiProperty({ type: 'integer' })
  subscriptions: number;
  @ApiProperty({ type: 'integer' })
  desired_states_set: number;
  @ApiProperty({ type: 'integer' })
  limits_set: number;
  @ApiProperty({ type: [ReconciliationError] })
  errors: ReconciliationError[];
  @ApiProperty({ type: 'integer' })
  duration_ms: number;
}

/** POST /admin/billing/reconcile while another replica holds the lock. */
export class ReconciliationSkipped {
  @ApiProperty({ example: 'another replica is reconciling' })
  skipped: string;
}

/**
 * Kill Bill gives no ordering and drops a notification after its last retry, so every
 * BILLING_RECONCILE_INTERVAL_SECONDS each live account is re-read and its entitlements re-applied (the same
 * sync notifications use). One replica at a time (advisory lock); one account's failure does not stop the
 * others.
 */
@Injectable()
export class ReconciliationService implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger('Reconciliation');
  private timer: NodeJS.Timeout | null = null;
  private current: Promise<ReconciliationReport | null> | null = null;
  private readonly runs: Counter<'result'>;
  private readonly lastSuccess: Gauge;

  constructor(
    @Inject(APP_CONFIG) private readonly config: Config,
    private readonly accounts: BillingAccountsRepository,
    private readonly sync: EntitlementSyncService,
    private readonly locks: AdvisoryLocks,
    private readonly provider: BillingProvider,
    metrics: MetricsRegistry,
  ) {
    this.runs = counter(metrics, {
      name: 'billing_reconciliation_runs_total',
      help: 'Full reconciliations with Kill Bill, by result (ok, errors, skipped)',
      labelNames: ['result'],
    });
    // The alert compares the two: a pass overdue by twice the interval means the loop is stuck. Boot counts as
    // a fresh start, so a restarted service gets a whole interval before it is late.
    this.lastSuccess = gauge(metrics, {
      name: 'billing_reconciliation_last_success_timestamp_seconds',
      help: 'Unix time of the last full reconciliation that ended without errors (process start until then)',
    });
    this.lastSuccess.set(Date.now() / 1000);
    gauge(metrics, {
      name: 'billing_reconciliation_interval_seconds',
      help: 'BILLING_RECONCILE_INTERVAL_SECONDS when Kill Bill billing is on (0: no periodic reconciliation)',
    }).set(this.provider.reconciles ? this.config.BILLING_RECONCILE_INTERVAL_SECONDS : 0);
  }

  onApplicationBootstrap(): void {
    const seconds = this.config.BILLING_RECONCILE_INTERVAL_SECONDS;
    if (!this.provider.reconciles || seconds === 0) return;
    this.timer = setInterval(() => {
      if (!this.current) {
        void this.run().catch((error: unknown) =>
          this.logger.error({ msg: 'reconciliation failed', error: errorMessage(error) }),
        );
      }
    }, seconds * 1000);
    this.timer.unref();
  }

  async onModuleDestroy(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.current?.catch(() => undefined);
  }

  /** One full pass now (admin route, tests); null when another replica is reconciling. */
  run(): Promise<ReconciliationReport | null> {
    this.current ??= this.locks
      .tryWithLock('billing:reconciliation', () => this.pass())
      .then((report) => {
        this.runs.inc({ result: report === null ? 'skipped' : report.errors.length ? 'errors' : 'ok' });
        if (report && !report.errors.length) this.lastSuccess.set(Date.now() / 1000);
        return report;
      })
      .finally(() => {
        this.current = null;
      });
    return this.current;
  }

  private async pass(): Promise<ReconciliationReport> {
    const started = Date.now();
    const report: ReconciliationReport = {
      accounts: 0,
      subscriptions: 0,
      desired_states_set: 0,
      limits_set: 0,
      errors: [],
      duration_ms: 0,
    };
    if (!this.provider.reconciles) return report;
    for (const accountId of await this.accounts.accountsToReconcile()) {
      report.accounts++;
      try {
        const result = await this.sync.syncAccount(accountId, 'reconciliation');
        report.subscriptions += result.subscriptions.length;
        report.desired_states_set += result.subscriptions.filter((s) => s.desired_state_set).length;
        report.limits_set += result.subscriptions.filter((s) => s.limits_set).length;
      } catch (error) {
        report.errors.push({ account_id: accountId, error: errorMessage(error) });
      }
    }
    report.duration_ms = Date.now() - started;
    this.logger.log({ msg: 'reconciliation done', ...report, errors: report.errors.length });
    return report;
  }
}
