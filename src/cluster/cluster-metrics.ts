import type { Worker } from 'node:cluster';
import { AggregatorRegistry, Counter, Registry, collectDefaultMetrics } from 'prom-client';
import { FileChange, MetricsSnapshot, PrimaryMessage, WorkerMessage, isMessage } from '../cluster-ipc';
import { CERTIFICATE_ROTATIONS, POLICY_RELOADS, PROCESS_LABEL } from '../metrics';
import { ChangeReports } from './change-reports';
import { CountedTotals, OWN_PREFIX, isCounted } from './counted-totals';

/** A worker that does not answer in time is summed as it last answered. */
const SNAPSHOT_TIMEOUT_MS = 2_000;

/**
 * What a cluster's /metrics says, on the primary's health port and (asked over IPC) on every
 * worker's TLS port. prom-client's own cluster aggregation sums what live workers report, so a
 * dead worker's share of every counter vanished and `rate()` saw a reset; here the primary keeps
 * each worker's last report and, when a worker dies, adds its counters and histograms to what
 * departed workers counted, so the sums never go backwards. Node's process metrics are reported
 * per process (a `process` label), never summed. What every worker sees alike (a policy edit, a
 * certificate rotation) is counted once, here, from the workers' reports.
 */
export class ClusterMetrics {
  private readonly registry = new Registry();
  private readonly workerRestarts = new Counter({
    name: 'kube_image_bouncer_worker_restarts_total',
    help: 'Workers that died while serving and were replaced by the primary.',
    registers: [this.registry],
  });
  private readonly policyReloads = new Counter({ ...POLICY_RELOADS, registers: [this.registry] });
  private readonly certificateRotations = new Counter({
    ...CERTIFICATE_ROTATIONS,
    registers: [this.registry],
  });
  /** Each serving worker's last report, by cluster worker id. */
  private readonly snapshots = new Map<number, MetricsSnapshot>();
  /** The counters and histograms of every worker that has died, summed as it died. */
  private readonly departed = new CountedTotals();
  private readonly changes = new ChangeReports();
  private lastRequest = 0;

  constructor() {
    collectDefaultMetrics({ register: this.registry, labels: { [PROCESS_LABEL]: 'primary' } });
    // Present from the start, at 0, as a single process shows them.
    for (const result of ['applied', 'refused']) {
      this.policyReloads.inc({ result }, 0);
      this.certificateRotations.inc({ result }, 0);
    }
  }

  workerRestarted(): void {
    this.workerRestarts.inc();
  }

  /** A worker is gone: what it counted stays in the sums; its process metrics go with it. */
  workerExited(id: number): void {
    const last = this.snapshots.get(id);
    this.snapshots.delete(id);
    if (last) this.departed.add(last);
  }

  /** Counts a change a worker reports, unless another worker reported it already. */
  fileChanged(change: FileChange, worker: number, now = Date.now()): void {
    if (this.changes.isFirst(`${change.file} ${change.result} ${change.key}`, worker, now))
      (change.file === 'policy' ? this.policyReloads : this.certificateRotations).inc({
        result: change.result,
      });
  }

  /** The Prometheus text of the whole cluster: every serving worker asked now, then summed. */
  async scrape(workers: readonly Worker[]): Promise<{ contentType: string; text: string }> {
    await Promise.all(workers.map((worker) => this.refresh(worker)));
    const reports = workers.flatMap((worker) => {
      const snapshot = this.snapshots.get(worker.id);
      return snapshot ? [snapshot] : [];
    });
    const own = (await this.registry.getMetricsAsJSON()) as MetricsSnapshot;
    const totals = this.departed.copy();
    for (const snapshot of [...reports, own]) totals.add(snapshot);
    const uncounted = (snapshot: MetricsSnapshot) => snapshot.filter((metric) => !isCounted(metric));
    const summed = AggregatorRegistry.aggregate(
      [...reports.map(uncounted), uncounted(own), totals.snapshot()].map(perProcessKeptApart),
    );
    return { contentType: summed.contentType, text: await summed.metrics() };
  }

  private refresh(worker: Worker): Promise<void> {
    const id = ++this.lastRequest;
    return new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        worker.off('message', listener);
        resolve();
      };
      const timer = setTimeout(done, SNAPSHOT_TIMEOUT_MS);
      const listener = (message: unknown): void => {
        if (
          !isMessage<Extract<WorkerMessage, { type: 'kib:metrics' }>>(message, 'kib:metrics') ||
          message.id !== id
        )
          return;
        if (!worker.isDead()) this.snapshots.set(worker.id, message.metrics);
        done();
      };
      worker.on('message', listener);
      if (!worker.isConnected()) return done();
      worker.send({ type: 'kib:metrics', id } satisfies PrimaryMessage);
    });
  }
}

/**
 * Node's process metrics carry each process's `process` label, so no two processes share a series;
 * summing then keeps each as it is, where prom-client's own choices would average the event loop
 * lag or drop the start time (its 'omit').
 */
function perProcessKeptApart(snapshot: MetricsSnapshot): MetricsSnapshot {
  return snapshot.map((metric) =>
    metric.name.startsWith(OWN_PREFIX) ? metric : { ...metric, aggregator: 'sum' },
  );
}
