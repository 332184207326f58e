import type { MetricObjectWithValues, MetricValue } from 'prom-client';
import type { MetricsSnapshot } from '../cluster-ipc';

/** The bouncer's own metrics; the rest (process_*, nodejs_*) are each process's own. */
export const OWN_PREFIX = 'kube_image_bouncer_';

type Metric = MetricObjectWithValues<MetricValue<string>>;
/** A histogram's samples also say which series they are (`_bucket`, `_sum`, `_count`). */
type Sample = MetricValue<string> & { readonly metricName?: string };

/** What a cluster sums across processes and must never see fall: its own counters and histograms. */
export const isCounted = (metric: Metric): boolean =>
  metric.name.startsWith(OWN_PREFIX) && ['counter', 'histogram'].includes(String(metric.type));

const NANOS_PER_SECOND = 1e9;

interface Total {
  readonly labels: MetricValue<string>['labels'];
  readonly metricName?: string;
  /** A histogram's `_sum` in whole nanoseconds; any other sample as counted. */
  value: bigint | number;
}

/**
 * Counters and histograms of several processes, summed exactly. Floating-point addition is not
 * associative, so a histogram's `_sum` added up in another order (a worker died, another took its
 * place) could come out one ulp lower than the scrape before, which Prometheus reads as a counter
 * reset. Each `_sum` is therefore added in whole nanoseconds, where order cannot matter; counts
 * and buckets are whole numbers already.
 */
export class CountedTotals {
  private readonly metrics = new Map<
    string,
    { readonly metric: Metric; readonly totals: Map<string, Total> }
  >();

  /** Adds a process's counted metrics; anything else in the snapshot is ignored. */
  add(snapshot: MetricsSnapshot): this {
    for (const metric of snapshot) {
      if (!isCounted(metric)) continue;
      let entry = this.metrics.get(metric.name);
      if (!entry) this.metrics.set(metric.name, (entry = { metric, totals: new Map() }));
      for (const sample of metric.values as Sample[]) {
        const key = `${sample.metricName ?? ''} ${JSON.stringify(Object.entries(sample.labels).sort())}`;
        const inNanos = metric.type === ('histogram' as unknown) && !!sample.metricName?.endsWith('_sum');
        const value = inNanos ? BigInt(Math.round(sample.value * NANOS_PER_SECOND)) : sample.value;
        const total = entry.totals.get(key);
        if (!total) entry.totals.set(key, { labels: sample.labels, metricName: sample.metricName, value });
        else if (typeof total.value === 'bigint' && typeof value === 'bigint') total.value += value;
        else total.value = Number(total.value) + Number(value);
      }
    }
    return this;
  }

  copy(): CountedTotals {
    const copy = new CountedTotals();
    for (const [name, { metric, totals }] of this.metrics)
      copy.metrics.set(name, {
        metric,
        totals: new Map([...totals].map(([key, total]) => [key, { ...total }])),
      });
    return copy;
  }

  /** The totals as one process's snapshot would carry them. */
  snapshot(): MetricsSnapshot {
    return [...this.metrics.values()].map(({ metric, totals }) => ({
      ...metric,
      values: [...totals.values()].map(({ labels, metricName, value }) => ({
        labels,
        ...(metricName === undefined ? {} : { metricName }),
        value: typeof value === 'bigint' ? Number(value) / NANOS_PER_SECOND : value,
      })),
    }));
  }
}
