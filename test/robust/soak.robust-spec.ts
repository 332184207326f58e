import { setInterval } from 'node:timers';
import { bouncerForSpec } from './support/bouncer-under-test';
import { keepAliveAgent } from './support/review-client';
import { LoadRun, describeFailures, failures, refusals, runLoad } from './support/review-load';
import { defaultPolicyMix } from './support/review-mix';
import { latencySummary, mebibytes, recordResults } from './support/results';
import { scaled } from './support/robust-mode';

const RATE = 500;
const WARM_UP_MS = scaled(15_000, 60_000);
const SOAK_MS = scaled(60_000, 600_000);
/** The criterion: after warm-up, resident memory grows by no more than 10%. */
const MAX_RSS_GROWTH = 0.1;
/** RSS is read every second; start and end are each the median of 5 readings, so one GC cycle does not decide. */
const RSS_WINDOW = 5;

const median = (values: readonly number[]): number => [...values].sort((a, b) => a - b)[values.length >> 1];

describe('soak: keep-alive TLS at up to 500 reviews/s', () => {
  const spec = bouncerForSpec();

  it(
    `answers every review of a mixed load rightly for ${SOAK_MS / 1000} s, and its memory does not grow`,
    async () => {
      const { pki, bouncer } = spec;
      const agent = keepAliveAgent(pki, 16);
      const rss: { atMs: number; bytes: number }[] = [];
      const started = Date.now();
      const sampler = setInterval(
        () => rss.push({ atMs: Date.now() - started, bytes: bouncer.rssBytes() }),
        1_000,
      );
      const load = (durationMs: number): Promise<LoadRun> =>
        runLoad({ port: bouncer.port, rate: RATE, durationMs, cases: defaultPolicyMix(), agent });

      const warmUp = await load(WARM_UP_MS);
      const rssStart = median(rss.slice(-RSS_WINDOW).map((s) => s.bytes));
      const soak = await load(SOAK_MS);
      const rssEnd = median(rss.slice(-RSS_WINDOW).map((s) => s.bytes));
      clearInterval(sampler);
      agent.destroy();

      const growth = (rssEnd - rssStart) / rssStart;
      recordResults('soak', {
        rate: RATE,
        warmUpSeconds: WARM_UP_MS / 1000,
        seconds: SOAK_MS / 1000,
        requests: soak.sent,
        skippedByTheClient: soak.skipped,
        achievedRate: Math.round((soak.sent / soak.elapsedMs) * 1000),
        errors: failures(soak).length + refusals(soak).length,
        warmUpErrors: failures(warmUp).length + refusals(warmUp).length,
        latencyMs: latencySummary(soak.serviceMs),
        latencyFromScheduleMs: latencySummary(soak.dueToDoneMs),
        rssMiB: {
          start: mebibytes(rssStart),
          end: mebibytes(rssEnd),
          growthPercent: Math.round(growth * 1000) / 10,
          everyTenSeconds: rss.filter((_, i) => i % 10 === 0).map((s) => mebibytes(s.bytes)),
        },
      });

      // What was sent was answered, each rightly; how much the client managed to send is its own affair.
      expect(describeFailures([...failures(warmUp), ...refusals(warmUp)])).toEqual([]);
      expect(describeFailures([...failures(soak), ...refusals(soak)])).toEqual([]);
      expect(soak.records).toHaveLength(soak.sent);
      expect(rssEnd).toBeLessThanOrEqual(rssStart * (1 + MAX_RSS_GROWTH));
      expect(bouncer.running()).toBe(true);
    },
    WARM_UP_MS + SOAK_MS + 60_000,
  );
});
