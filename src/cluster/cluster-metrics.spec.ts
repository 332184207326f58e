import type { Worker } from 'node:cluster';
import { EventEmitter } from 'node:events';
import { Counter, Registry } from 'prom-client';
import type { MetricsSnapshot } from '../cluster-ipc';
import { ClusterMetrics } from './cluster-metrics';

/** A worker that answers the primary's metrics question with what it has counted. */
async function workerThatCounted(id: number, reviews: number): Promise<Worker> {
  const registry = new Registry();
  new Counter({ name: 'kube_image_bouncer_reviews_total', help: 'reviews', registers: [registry] }).inc(
    reviews,
  );
  const metrics = (await registry.getMetricsAsJSON()) as MetricsSnapshot;
  const worker = Object.assign(new EventEmitter(), {
    id,
    isConnected: () => true,
    isDead: () => false,
    send: (message: { type: string; id: number }) =>
      setImmediate(() => worker.emit('message', { type: 'kib:metrics', id: message.id, metrics })),
  });
  return worker as unknown as Worker;
}

const reviewsIn = (text: string): number =>
  Number(/^kube_image_bouncer_reviews_total (\S+)$/m.exec(text)?.[1] ?? NaN);

describe(ClusterMetrics.name, () => {
  it('keeps what a worker counted in the scrape right after it died', async () => {
    const metrics = new ClusterMetrics();
    const worker = await workerThatCounted(1, 5);
    await metrics.scrape([worker]);

    metrics.workerExited(1);

    expect(reviewsIn((await metrics.scrape([])).text)).toBe(5);
  });

  it('keeps what each of two workers counted when both die at once, and through later scrapes', async () => {
    const metrics = new ClusterMetrics();
    const [first, second] = await Promise.all([workerThatCounted(1, 5), workerThatCounted(2, 7)]);
    await metrics.scrape([first, second]);

    metrics.workerExited(1);
    metrics.workerExited(2);
    const scrapes = await Promise.all([metrics.scrape([]), metrics.scrape([])]);
    const replacement = await workerThatCounted(3, 1);

    expect(scrapes.map(({ text }) => reviewsIn(text))).toEqual([12, 12]);
    expect(reviewsIn((await metrics.scrape([replacement])).text)).toBe(13);
    expect(reviewsIn((await metrics.scrape([replacement])).text)).toBe(13);
  });
});
