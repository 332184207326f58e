import { Server, createServer } from 'node:http';
import { healthPortNotFoundBody } from '../server';
import { ClusterAnswer } from '../cluster-ipc';
import { AGREEMENT_BOUND_MS, WorkerReadiness, workerAgreement } from './worker-agreement';

export interface ClusterHealth {
  /** Workers currently serving. */
  listening(): number;
  /**
   * Workers of the first start not yet serving: the health port opens before they are forked, and
   * the cluster is not ready until every one of them serves. Absent means none.
   */
  starting?(): number;
  /** Each worker's readiness, as its own /readyz would report it, with what it serves. */
  readiness(): Promise<WorkerReadiness[]>;
  /** The cluster's metrics, summed over its workers (ClusterMetrics). */
  metrics(): Promise<{ contentType: string; text: string }>;
}

/** What the cluster answers to a GET of `path`: on the primary's health port, and to a worker asking for its TLS port. */
export type ClusterAnswers = (method: string | undefined, path: string) => Promise<ClusterAnswer>;

const JSON_TYPE = 'application/json; charset=utf-8';
const json = (status: number, body: unknown): ClusterAnswer => ({
  status,
  type: JSON_TYPE,
  text: JSON.stringify(body),
});
const notFound = (method: string | undefined, path: string): ClusterAnswer => ({
  status: 404,
  type: JSON_TYPE,
  text: healthPortNotFoundBody(method, path),
});

const messageOf = (body: unknown): string =>
  typeof body === 'string'
    ? body
    : typeof body === 'object' && body !== null && typeof (body as { message?: unknown }).message === 'string'
      ? (body as { message: string }).message
      : 'not ready';

/**
 * The cluster's probes: liveness of the cluster, readiness of every worker and their agreement on
 * the certificate and the policy, and metrics aggregated over all workers (a scrape of any one
 * worker would count a fraction).
 */
export function clusterAnswers(health: ClusterHealth): ClusterAnswers {
  return async (method, path) => {
    if (method !== 'GET') return notFound(method, path);
    switch (path) {
      case '/healthz':
      case '/livez': {
        const workers = health.listening();
        return json(workers > 0 ? 200 : 503, { status: workers > 0 ? 'ok' : 'error', workers });
      }
      case '/readyz': {
        const workers = await health.readiness();
        const agreement = workerAgreement(workers, Date.now());
        const apart = !agreement.converged && agreement.disagreeingForMs > AGREEMENT_BOUND_MS;
        const notReady = workers.filter((w) => !w.ready);
        const starting = health.starting?.() ?? 0;
        const ready = workers.length > 0 && notReady.length === 0 && !apart && starting === 0;
        const reasons = [
          ...(workers.length === 0 && starting === 0 ? ['no worker is serving'] : []),
          ...(starting > 0 ? [`starting: ${starting} of its workers not serving yet`] : []),
          ...notReady.map((w) => `worker ${w.pid}: ${messageOf(w.body)}`),
          ...(apart ? [agreement.message!] : []),
        ];
        // The body a single process gives (workers share one configuration), from a worker that is
        // not ready if there is one, then the cluster's own fields.
        const shown = notReady[0] ?? workers[0];
        return json(ready ? 200 : 503, {
          ...(typeof shown?.body === 'object' ? shown.body : {}),
          status: ready ? 'ok' : 'error',
          ...(reasons.length > 0 ? { message: reasons.join('; ') } : {}),
          converged: agreement.converged,
          ...(agreement.message ? { disagreement: agreement.message } : {}),
          workers: workers.map(({ pid, ready: workerReady, state }) => ({
            pid,
            ready: workerReady,
            fingerprint256: state?.fingerprint256,
            notAfter: state?.notAfter,
            policyRevision: state?.policyRevision,
            certificateSince: state?.certificateSince,
            policySince: state?.policySince,
          })),
        });
      }
      case '/metrics': {
        const { contentType, text } = await health.metrics();
        return { status: 200, type: contentType, text };
      }
      default:
        return notFound(method, path);
    }
  };
}

/** The primary's plain-HTTP health port. */
export function createClusterHealthServer(answer: ClusterAnswers): Server {
  const server = createServer({ noDelay: true }, (request, response) => {
    request.resume();
    answer(request.method, (request.url ?? '/').split('?')[0]).then(
      ({ status, type, text }) => {
        response.writeHead(status, { 'Content-Type': type, 'Content-Length': Buffer.byteLength(text) });
        response.end(text);
      },
      (error: unknown) => {
        const { status, type, text } = json(503, { status: 'error', message: String(error) });
        response.writeHead(status, { 'Content-Type': type });
        response.end(text);
      },
    );
  });
  server.headersTimeout = 10_000;
  server.requestTimeout = 30_000;
  return server;
}
