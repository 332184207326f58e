import cluster, { Worker } from 'node:cluster';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import { AllConfigType } from '../config';
import { withPolicyEngine } from '../policy';
import { listenOn, announceDraining, announceServing } from '../server';
import { generateSelfSignedPair, loadTlsMaterial } from '../tls';
import { clusterAnswers, createClusterHealthServer } from './cluster-health-server';
import { ChangeReports } from './change-reports';
import { ClusterMetrics } from './cluster-metrics';
import { PrimaryMessage, WorkerMessage, isMessage } from '../cluster-ipc';
import { WorkerReadiness } from './worker-agreement';
import { ClusterLedger } from '../verification-ledger';

const READINESS_TIMEOUT_MS = 2_000;
const RESPAWN_DELAY_MS = 1_000;

/**
 * A worker that failed before it ever served stops the cluster: its replacement would fail too.
 * `usage` when the worker said its flags or files were at fault (exit status 2, as for one process).
 */
export class WorkerStartError extends Error {
  override name = 'WorkerStartError';
  constructor(
    message: string,
    readonly usage = false,
  ) {
    super(message);
  }
}

/** A worker's own /readyz answer, asked over IPC; no answer in time counts as not ready. */
function askReadiness(worker: Worker, id: number): Promise<WorkerReadiness> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      worker.off('message', listener);
      resolve({
        pid: worker.process.pid,
        ready: false,
        body: `no answer within ${READINESS_TIMEOUT_MS / 1000} s`,
      });
    }, READINESS_TIMEOUT_MS);
    const listener = (message: unknown): void => {
      if (
        !isMessage<Extract<WorkerMessage, { type: 'kib:readyz' }>>(message, 'kib:readyz') ||
        message.id !== id
      )
        return;
      clearTimeout(timer);
      worker.off('message', listener);
      resolve({ pid: worker.process.pid, ready: message.ready, body: message.body, state: message.state });
    };
    worker.on('message', listener);
    worker.send({ type: 'kib:readyz', id } satisfies PrimaryMessage);
  });
}

/**
 * The cluster primary: resolves what all workers must share (one self-signed certificate if none
 * is configured), forks them, replaces any that die while serving, owns the health port (and
 * answers the same questions for workers asked on the TLS port), and on SIGTERM drains them all.
 *
 * Workers watch the policy and certificate files themselves rather than being sent them from here:
 * a single process and a worker then load files by the same code, key material never crosses the
 * IPC channel, and a busy primary cannot hold a rotation back. That each one did is checked
 * instead: every worker reports what it serves, and /readyz fails when they part for too long.
 */
export async function runClusterPrimary(config: AllConfigType, log: Logger): Promise<void> {
  let shared: AllConfigType =
    config.tls.certificatePath !== undefined
      ? config
      : { ...config, tls: { ...config.tls, generated: await generateSelfSignedPair(config.server.host) } };
  // What would stop every worker is refused here, once, with the same errors a single process gives;
  // and what is wrong but accepted in the policy is said here once, rather than by every worker.
  await loadTlsMaterial(shared.tls, shared.server.host);
  const policy = await withPolicyEngine(shared.policy.path, (engine) => engine.policy);
  for (const warning of policy.warnings) log.warn(`policy: ${warning}`);
  if (policy.permissive)
    log.warn(
      `policy ${policy.name} denies nothing: ${policy.permissive}; every image is let through (spec.allowPermissive: true)`,
    );
  const ledgerDir = policy.verificationLedger.path ?? config.ledger?.dir;
  // The primary alone writes the ledger file; workers send it records and are sent everyone's.
  const ledger =
    config.ledger !== undefined && ledgerDir !== undefined
      ? new ClusterLedger(ledgerDir, config.ledger.keyFile, (level, message) => log[level](message))
      : undefined;
  if (ledger) shared = { ...shared, ledger: { ...shared.ledger, dir: ledgerDir, keptByPrimary: true } };
  const serving = new Map<number, Worker>();
  let shuttingDown = false;
  /** Until every worker of the first start serves, the health port says the cluster is starting. */
  let firstStartDone = false;
  let readinessRequest = 0;
  let address: { address: string; port: number } | undefined;

  const metrics = new ClusterMetrics();
  const answer = clusterAnswers({
    listening: () => serving.size,
    starting: () => (firstStartDone ? 0 : Math.max(config.server.workers - serving.size, 0)),
    readiness: () =>
      Promise.all([...serving.values()].map((worker) => askReadiness(worker, ++readinessRequest))),
    metrics: () => metrics.scrape([...serving.values()]),
  });
  const notices = new ChangeReports();
  /** What the workers say about the files they all watch: counted, and logged, once for all. */
  const fromWorker = (worker: Worker, message: unknown): void => {
    if (isMessage<Extract<WorkerMessage, { type: 'kib:file-change' }>>(message, 'kib:file-change'))
      metrics.fileChanged(message.change, worker.id);
    if (isMessage<Extract<WorkerMessage, { type: 'kib:policy-notice' }>>(message, 'kib:policy-notice')) {
      const { level, message: text } = message;
      if (notices.isFirst(`${level} ${text}`, worker.id)) log[level]({ context: 'PolicyStore' }, text);
    }
  };

  const fork = (): Promise<void> =>
    new Promise((resolve, reject) => {
      const worker = cluster.fork();
      ledger?.attach(worker);
      let started = false;
      let failure: Extract<WorkerMessage, { type: 'kib:start-failed' }> | undefined;
      worker.on('online', () => worker.send({ type: 'kib:start', config: shared } satisfies PrimaryMessage));
      worker.on('message', (message: unknown) => {
        fromWorker(worker, message);
        if (isMessage<Extract<WorkerMessage, { type: 'kib:listening' }>>(message, 'kib:listening')) {
          started = true;
          address = { address: message.address, port: message.port };
          serving.set(worker.id, worker);
          resolve();
        }
        if (isMessage<Extract<WorkerMessage, { type: 'kib:start-failed' }>>(message, 'kib:start-failed'))
          failure = message;
        // A request to the worker's TLS port for /readyz or /metrics: the cluster's answer, not its own.
        if (isMessage<Extract<WorkerMessage, { type: 'kib:ask' }>>(message, 'kib:ask')) {
          const { id, question } = message;
          answer('GET', question).then(
            (answered) =>
              worker.isConnected() &&
              worker.send({ type: 'kib:answer', id, answer: answered } satisfies PrimaryMessage),
            (error: unknown) => log.error({ err: error }, `answering a worker's ${question} failed`),
          );
        }
      });
      worker.on('exit', (code, signal) => {
        serving.delete(worker.id);
        metrics.workerExited(worker.id);
        if (!started) {
          reject(
            failure
              ? new WorkerStartError(failure.message, failure.usage)
              : new WorkerStartError(
                  `worker ${worker.process.pid} exited with ${code ?? signal} before serving`,
                ),
          );
        } else if (!shuttingDown) {
          log.error(
            { pid: worker.process.pid, code, signal },
            'worker died while serving; starting a replacement',
          );
          setTimeout(() => {
            if (shuttingDown) return;
            metrics.workerRestarted();
            fork().catch((error: unknown) => log.error({ err: error }, 'replacement worker failed'));
          }, RESPAWN_DELAY_MS);
        }
      });
    });

  const healthServer = config.server.healthPort === undefined ? undefined : createClusterHealthServer(answer);
  // The primary's own port first: a port in use is refused before any worker has cost a start
  // (seconds each on a busy machine). Until workers serve, it answers that none is ready.
  const healthAddress: AddressInfo | undefined =
    healthServer &&
    (await listenOn(healthServer, config.server.host, '--health-port', config.server.healthPort!));

  try {
    await Promise.all(Array.from({ length: config.server.workers }, () => fork()));
    firstStartDone = true;
  } catch (error) {
    shuttingDown = true;
    for (const worker of Object.values(cluster.workers ?? {})) worker?.kill();
    healthServer?.close();
    throw error;
  }
  announceServing(log, address!, healthAddress, config.server.workers);

  const shutdown = (signal: NodeJS.Signals): void => {
    if (shuttingDown) return;
    shuttingDown = true;
    const workers = Object.values(cluster.workers ?? {}).filter((w): w is Worker => w !== undefined);
    const stoppedAccepting = workers.map(
      (worker) =>
        new Promise<void>((resolve) => {
          worker.on('message', (message: unknown) => isMessage(message, 'kib:draining') && resolve());
          worker.once('exit', () => resolve());
        }),
    );
    const exited = workers.map(
      (worker) => new Promise<number | null>((resolve) => worker.once('exit', (code) => resolve(code))),
    );
    workers.forEach((worker) => worker.send({ type: 'kib:shutdown' } satisfies PrimaryMessage));
    void Promise.all(stoppedAccepting).then(() => announceDraining(log, signal));
    void Promise.all(exited).then((codes) => {
      healthServer?.close();
      const clean = codes.every((code) => code === 0);
      log.flush(() => process.exit(clean ? 0 : 1));
    });
  };
  process.once('SIGTERM', shutdown);
  process.once('SIGINT', shutdown);
}
