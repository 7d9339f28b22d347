import { Injectable } from '@nestjs/common';
import { Counter, Registry } from 'prom-client';
import { MetricsRegistry } from '@app/metrics';

/**
 * The app's registry outlives one Nest application when several are booted from the same AppModule in one
 * process (tests): an existing metric of that name is reused instead of registered twice.
 */
function counter<L extends string>(
  registry: Registry,
  name: string,
  help: string,
  labelNames: L[],
): Counter<L> {
  const existing = registry.getSingleMetric(name);
  if (existing instanceof Counter) return existing as Counter<L>;
  return new Counter({ name, help, labelNames, registers: [registry] });
}

/** Lifecycle counters of the API side (the worker counts what it does with the jobs). */
@Injectable()
export class InstanceMetrics {
  readonly creations: Counter<'outcome'>;
  readonly actions: Counter<'action' | 'outcome'>;

  constructor(metrics: MetricsRegistry) {
    this.creations = counter(
      metrics.registry,
      'instance_creations_total',
      'POST /api/v1/instances by outcome (created, rejected, failed)',
      ['outcome'],
    );
    this.actions = counter(
      metrics.registry,
      'instance_actions_total',
      'Lifecycle intents recorded and enqueued, by action and outcome (queued, rejected)',
      ['action', 'outcome'],
    );
  }
}
