import { Server, createServer } from 'node:http';
import type { AggregatorRegistry, RegistryContentType } from 'prom-client';
import { healthPortNotFoundBody } from '../server/health-listener';

export interface WorkerReadiness {
  readonly pid: number | undefined;
  readonly ready: boolean;
  /** What the worker's own /readyz answered. */
  readonly body: unknown;
}

export interface ClusterHealth {
  /** Workers currently serving. */
  listening(): number;
  /** Each worker's readiness, as its own /readyz would report it. */
  readiness(): Promise<WorkerReadiness[]>;
}

type Answer = { status: number; type: string; text: string };

const JSON_TYPE = 'application/json; charset=utf-8';
const json = (status: number, body: unknown): Answer => ({
  status,
  type: JSON_TYPE,
  text: JSON.stringify(body),
});
const notFound = (method: string | undefined, path: string): Answer => ({
  status: 404,
  type: JSON_TYPE,
  text: healthPortNotFoundBody(method, path),
});

/**
 * The primary's plain-HTTP health port: liveness of the cluster, readiness of every worker, and
 * metrics aggregated over all workers (a scrape of any one worker would count a fraction).
 */
export function createClusterHealthServer(
  health: ClusterHealth,
  metrics: AggregatorRegistry<RegistryContentType>,
): Server {
  const answer = async (method: string | undefined, path: string): Promise<Answer> => {
    if (method !== 'GET') return notFound(method, path);
    switch (path) {
      case '/healthz':
      case '/livez': {
        const workers = health.listening();
        return json(workers > 0 ? 200 : 503, { status: workers > 0 ? 'ok' : 'error', workers });
      }
      case '/readyz': {
        // The same body a single process gives (workers share one configuration), plus each worker's state.
        const workers = await health.readiness();
        const ready = workers.length > 0 && workers.every((w) => w.ready);
        const shown = workers.find((w) => !w.ready) ?? workers[0];
        return json(ready ? 200 : 503, {
          ...(typeof shown?.body === 'object' ? shown.body : {}),
          status: ready ? 'ok' : 'error',
          workers: workers.map(({ pid, ready: workerReady }) => ({ pid, ready: workerReady })),
        });
      }
      case '/metrics':
        return { status: 200, type: metrics.contentType, text: await metrics.clusterMetrics() };
      default:
        return notFound(method, path);
    }
  };
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
