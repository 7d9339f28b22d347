import {
  Counter,
  CounterConfiguration,
  Gauge,
  GaugeConfiguration,
  Histogram,
  HistogramConfiguration,
} from 'prom-client';
import { MetricsRegistry } from '@app/metrics';

/** The app's counter of that name, created on first use (several app instances may share a registry in tests). */
export function counter<L extends string>(
  metrics: MetricsRegistry,
  config: CounterConfiguration<L>,
): Counter<L> {
  const existing = metrics.registry.getSingleMetric(config.name);
  if (existing) return existing as Counter<L>;
  return new Counter({ ...config, registers: [metrics.registry] });
}

export function histogram<L extends string>(
  metrics: MetricsRegistry,
  config: HistogramConfiguration<L>,
): Histogram<L> {
  const existing = metrics.registry.getSingleMetric(config.name);
  if (existing) return existing as Histogram<L>;
  return new Histogram({ ...config, registers: [metrics.registry] });
}

export function gauge<L extends string>(metrics: MetricsRegistry, config: GaugeConfiguration<L>): Gauge<L> {
  const existing = metrics.registry.getSingleMetric(config.name);
  if (existing) return existing as Gauge<L>;
  return new Gauge({ ...config, registers: [metrics.registry] });
}
