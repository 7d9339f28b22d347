import { Injectable } from '@nestjs/common';
import { Counter, Gauge, Histogram, type Metric } from 'prom-client';
import { MetricsRegistry } from '@app/metrics';

/** The worker's lifecycle metrics, on its own /metrics. */
@Injectable()
export class LifecycleMetrics {
  readonly jobDuration: Histogram<'job_name' | 'outcome'>;
  readonly jobs: Counter<'job_name' | 'outcome'>;
  readonly stepDuration: Histogram<'step'>;
  readonly transitions: Counter<'from' | 'to'>;
  readonly reconciler: Counter<'kind'>;
  readonly consuming: Gauge;
  readonly sparesReady: Gauge<'odoo_version'>;
  readonly storageBytes: Gauge<'instance_id' | 'kind'>;

  constructor(metrics: MetricsRegistry) {
    const registers = [metrics.registry];
    // The registry outlives one app instance (several workers in one test process share it): reuse.
    const existing = <T extends Metric>(name: string, create: () => T): T =>
      (metrics.registry.getSingleMetric(name) as T | undefined) ?? create();
    this.jobDuration = existing(
      'lifecycle_job_duration_seconds',
      () =>
        new Histogram({
          name: 'lifecycle_job_duration_seconds',
          help: 'Duration of instance lifecycle jobs, by job name and outcome',
          labelNames: ['job_name', 'outcome'],
          buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800],
          registers,
        }),
    );
    this.jobs = existing(
      'lifecycle_jobs_total',
      () =>
        new Counter({
          name: 'lifecycle_jobs_total',
          help: 'Lifecycle job runs, by job name and outcome',
          labelNames: ['job_name', 'outcome'],
          registers,
        }),
    );
    this.stepDuration = existing(
      'lifecycle_step_duration_seconds',
      () =>
        new Histogram({
          name: 'lifecycle_step_duration_seconds',
          help: 'Duration of the steps inside lifecycle jobs (database, volume, network, init, container, health …)',
          labelNames: ['step'],
          buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 1800],
          registers,
        }),
    );
    this.transitions = existing(
      'instance_status_transitions_total',
      () =>
        new Counter({
          name: 'instance_status_transitions_total',
          help: 'Instance status changes written by the worker, by from and to status',
          labelNames: ['from', 'to'],
          registers,
        }),
    );
    this.reconciler = existing(
      'lifecycle_reconciler_corrections_total',
      () =>
        new Counter({
          name: 'lifecycle_reconciler_corrections_total',
          help: 'Corrections made by the reconciler (drift recorded, lost work re-enqueued, purges due, …)',
          labelNames: ['kind'],
          registers,
        }),
    );
    this.sparesReady = existing(
      'odoo_spares_ready',
      () =>
        new Gauge({
          name: 'odoo_spares_ready',
          help: 'Spare Odoo databases ready to be adopted by a new instance, by Odoo version (ODOO_SPARE_POOL)',
          labelNames: ['odoo_version'],
          registers,
        }),
    );
    this.storageBytes = existing(
      'instance_storage_bytes',
      () =>
        new Gauge({
          name: 'instance_storage_bytes',
          help: 'Storage an instance uses at the last measurement: kind volume (its data volume) or database (pg_database_size)',
          labelNames: ['instance_id', 'kind'],
          registers,
        }),
    );
    this.consuming = existing(
      'lifecycle_worker_consuming',
      () =>
        new Gauge({
          name: 'lifecycle_worker_consuming',
          help: '1 once the worker initialised and consumes the lifecycle queue',
          registers,
        }),
    );
  }

  /** Runs `fn`, recording its duration (failed or not) under `step`. */
  async step<T>(step: string, fn: () => Promise<T>): Promise<T> {
    const end = this.stepDuration.startTimer({ step });
    try {
      return await fn();
    } finally {
      end();
    }
  }

  observeJob(name: string, outcome: string, seconds: number): void {
    this.jobDuration.observe({ job_name: name, outcome }, seconds);
    this.jobs.inc({ job_name: name, outcome });
  }
}
