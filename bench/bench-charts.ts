import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { barChartSvg } from './chart';

/** What the charts need of one payload's figures in bench/results.json. */
export interface ChartedPayload {
  readonly payload: string;
  readonly figures: Record<
    string,
    {
      readonly saturation: { requestsPerSecond: number };
      readonly fixedRate: { p99Ms: number };
      readonly pinnedFixedRate?: { p99Ms: number };
    }
  >;
}

const SERIES = [
  { server: 'baseline', name: 'baseline: node:https + JSON.parse', color: '#95a5a6' },
  { server: 'express', name: 'Express alone', color: '#f0b27a' },
  { server: 'nest', name: 'Nest on Express alone', color: '#af7ac5' },
  { server: 'bouncer', name: 'kube-image-bouncer, 1 worker', color: '#2e86c1' },
] as const;

/** bench/throughput.svg and bench/latency.svg, from the figures of a run. */
export function writeBenchCharts(payloads: readonly ChartedPayload[], fixedRate: number): void {
  const bench = join(__dirname, '..', '..', 'bench');
  const categories = payloads.map((r) =>
    r.payload.replace(' AdmissionReview', '').replace('ImageReview, ', 'IR '),
  );
  const series = (pick: (figures: ChartedPayload['figures'][string]) => number) =>
    SERIES.map(({ server, name, color }) => ({
      name,
      color,
      values: payloads.map((r) => pick(r.figures[server])),
    }));
  writeFileSync(
    join(bench, 'throughput.svg'),
    barChartSvg({
      title: 'Throughput at saturation (keep-alive TLS, 16 connections)',
      unit: 'requests per second',
      categories,
      series: series((f) => f.saturation.requestsPerSecond),
    }),
  );
  // Logarithmic: an overloaded payload's seconds would otherwise flatten everyone's milliseconds.
  // The pinned run's figure, where there is one: it measures the server, not the load generator.
  const pinned = payloads.some((r) => Object.values(r.figures).some((f) => f.pinnedFixedRate));
  writeFileSync(
    join(bench, 'latency.svg'),
    barChartSvg({
      title: `p99 latency at a fixed ${fixedRate} requests per second${pinned ? ', client and server on a core each' : ''} (log scale)`,
      unit: 'milliseconds',
      categories,
      series: series((f) => (f.pinnedFixedRate ?? f.fixedRate).p99Ms),
      lines: [{ label: 'target for payloads 1-4', value: 2 }],
      scale: 'log',
    }),
  );
}
