import { Injectable } from '@nestjs/common';
import { Counter, Gauge, Histogram } from 'prom-client';
import { MetricsRegistry } from '@app/metrics';
import { counter, histogram } from '../common/metrics';
import { SettlementsRepository } from './settlements.repository';

/** payments_total{method,status}, payment_confirmation_seconds and the Kill Bill outbox lag. */
@Injectable()
export class PaymentMetrics {
  private readonly payments: Counter<'method' | 'status'>;
  private readonly confirmation: Histogram;
  readonly resultPosts: Counter<'result'>;
  readonly resultStore: Histogram;

  constructor(metrics: MetricsRegistry, settlements: SettlementsRepository) {
    this.payments = counter(metrics, {
      name: 'payments_total',
      help: 'Payments reaching each status (pending when started), by method',
      labelNames: ['method', 'status'],
    });
    this.confirmation = histogram(metrics, {
      name: 'payment_confirmation_seconds',
      help: 'From the start of a payment to its confirmation as paid by a poll of the gateway',
      buckets: [1, 5, 10, 30, 60, 120, 300, 900, 1800, 3600],
    });
    this.resultPosts = counter(metrics, {
      name: 'payment_result_posts_total',
      help: 'Status updates posted to the PayNow result endpoint, by result (stored, invalid, error)',
      labelNames: ['result'],
    });
    this.resultStore = histogram(metrics, {
      name: 'payment_result_store_seconds',
      help: 'Time to store one PayNow status update durably (committed) before it is answered',
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1],
    });
    // The gauges read the database at scrape time; re-registered so they use this app's connection.
    for (const name of ['payment_outbox_lag_seconds', 'payment_outbox_pending']) {
      metrics.registry.removeSingleMetric(name);
    }
    let last: Promise<{ pending: number; oldestSeconds: number }> | null = null;
    const read = () => (last ??= settlements.lag().finally(() => setTimeout(() => (last = null), 100)));
    new Gauge({
      name: 'payment_outbox_lag_seconds',
      help: 'Age of the oldest paid payment not yet recorded in Kill Bill (0 when none)',
      registers: [metrics.registry],
      async collect() {
        this.set((await read()).oldestSeconds);
      },
    });
    new Gauge({
      name: 'payment_outbox_pending',
      help: 'Paid payments waiting to be recorded in Kill Bill',
      registers: [metrics.registry],
      async collect() {
        this.set((await read()).pending);
      },
    });
  }

  status(method: string, status: string): void {
    this.payments.inc({ method, status });
  }

  confirmed(createdAt: Date): void {
    this.confirmation.observe((Date.now() - createdAt.getTime()) / 1000);
  }
}
