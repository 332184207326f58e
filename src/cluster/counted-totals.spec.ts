import { Histogram, Registry } from 'prom-client';
import type { MetricsSnapshot } from '../cluster-ipc';
import { CountedTotals } from './counted-totals';

async function processThatObserved(...seconds: number[]): Promise<MetricsSnapshot> {
  const registry = new Registry();
  const histogram = new Histogram({
    name: 'kube_image_bouncer_request_duration_seconds',
    help: 'request duration',
    registers: [registry],
  });
  for (const s of seconds) histogram.observe(s);
  return await registry.getMetricsAsJSON();
}

const sumOf = (snapshot: MetricsSnapshot): number =>
  (snapshot[0].values as { metricName?: string; value: number }[]).find((v) =>
    v.metricName?.endsWith('_sum'),
  )!.value;

describe(CountedTotals.name, () => {
  it('sums a histogram to the same total whatever order its processes are added in', async () => {
    // 0.1 + 0.2 + 0.3 and 0.3 + 0.2 + 0.1 differ in floating point (0.6000000000000001 and 0.6).
    const [a, b, c] = await Promise.all([0.1, 0.2, 0.3].map((s) => processThatObserved(s)));

    const one = new CountedTotals().add(a).add(b).add(c).snapshot();
    const other = new CountedTotals().add(c).add(b).add(a).snapshot();

    expect(sumOf(one)).toBe(sumOf(other));
    expect(sumOf(one)).toBe(0.6);
  });

  it('keeps what was added when a copy is added to', async () => {
    const departed = new CountedTotals().add(await processThatObserved(0.25, 0.5));
    const scrape = departed.copy().add(await processThatObserved(1));

    expect(sumOf(scrape.snapshot())).toBe(1.75);
    expect(sumOf(departed.snapshot())).toBe(0.75);
  });
});
