import cluster, { Worker } from 'node:cluster';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import { AllConfigType } from '../config';
import { CompiledImagePolicy, withPolicyEngine } from '../policy';
import { listenOn, announceDraining, announceServing } from '../server';
import { generateSelfSignedPair, loadTlsMaterial } from '../tls';
import { ClusterAnswers, clusterAnswers, createClusterHealthServer } from './cluster-health-server';
import { ChangeReports } from './change-reports';
import { ClusterMetrics } from './cluster-metrics';
import { PrimaryMessage, WorkerMessage, isMessage } from '../cluster-ipc';
import { WorkerReadiness } from './worker-agreement';
import { ClusterLedger } from '../verification-ledger';

const READINESS_TIMEOUT_MS = 2_000;
const RESPAWN_DELAY_MS = 1_000;

type FromWorker<T extends WorkerMessage['type']> = Extract<WorkerMessage, { type: T }>;

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
      if (!isMessage<FromWorker<'kib:readyz'>>(message, 'kib:readyz') || message.id !== id) return;
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
  const certified = await withOneCertificate(config);
  // What would stop every worker is refused here, once, with the same errors a single process gives;
  // and what is wrong but accepted in the policy is said here once, rather than by every worker.
  await loadTlsMaterial(certified.tls, certified.server.host);
  const policy = await withPolicyEngine(certified.policy.path, (engine) => engine.policy);
  warnOfPolicy(policy, log);
  const { shared, ledger } = withPrimaryLedger(certified, config, policy, log);
  const workers = new ForkedWorkers(config, shared, ledger, log);

  const healthServer =
    config.server.healthPort === undefined ? undefined : createClusterHealthServer(workers.answer);
  // The primary's own port first: a port in use is refused before any worker has cost a start
  // (seconds each on a busy machine). Until workers serve, it answers that none is ready.
  const healthAddress: AddressInfo | undefined =
    healthServer &&
    (await listenOn(healthServer, config.server.host, '--health-port', config.server.healthPort!));

  await workers.startAll(healthServer);
  announceServing(log, workers.address!, healthAddress, config.server.workers);

  const shutdown = (signal: NodeJS.Signals): void => workers.shutdown(signal, healthServer);
  process.once('SIGTERM', shutdown);
  process.once('SIGINT', shutdown);
}

/** The configuration with one self-signed certificate for every worker, when none is configured. */
async function withOneCertificate(config: AllConfigType): Promise<AllConfigType> {
  return config.tls.certificatePath !== undefined
    ? config
    : { ...config, tls: { ...config.tls, generated: await generateSelfSignedPair(config.server.host) } };
}

/** What is wrong but accepted in the policy. */
function warnOfPolicy(policy: CompiledImagePolicy, log: Logger): void {
  for (const warning of policy.warnings) log.warn(`policy: ${warning}`);
  if (policy.permissive)
    log.warn(
      `policy ${policy.name} denies nothing: ${policy.permissive}; every image is let through (spec.allowPermissive: true)`,
    );
}

/** The primary alone writes the ledger file; workers send it records and are sent everyone's. */
function withPrimaryLedger(
  shared: AllConfigType,
  config: AllConfigType,
  policy: CompiledImagePolicy,
  log: Logger,
): { shared: AllConfigType; ledger?: ClusterLedger } {
  const ledgerDir = policy.verificationLedger.path ?? config.ledger?.dir;
  if (config.ledger === undefined || ledgerDir === undefined) return { shared };
  const ledger = new ClusterLedger(ledgerDir, config.ledger.keyFile, (level, message) => log[level](message));
  return { shared: { ...shared, ledger: { ...shared.ledger, dir: ledgerDir, keptByPrimary: true } }, ledger };
}

/** The workers the primary forks: which serve, what they report, and their replacement and drain. */
class ForkedWorkers {
  /** The cluster's answers on the health port, and to a worker asked on its TLS port. */
  readonly answer: ClusterAnswers;
  /** Where the workers serve, as the last one to start reported it. */
  address: { address: string; port: number } | undefined;
  private readonly serving = new Map<number, Worker>();
  private readonly metrics = new ClusterMetrics();
  private readonly notices = new ChangeReports();
  private shuttingDown = false;
  /** Until every worker of the first start serves, the health port says the cluster is starting. */
  private firstStartDone = false;
  private readinessRequest = 0;

  constructor(
    private readonly config: AllConfigType,
    private readonly shared: AllConfigType,
    private readonly ledger: ClusterLedger | undefined,
    private readonly log: Logger,
  ) {
    this.answer = clusterAnswers({
      listening: () => this.serving.size,
      starting: () => (this.firstStartDone ? 0 : Math.max(config.server.workers - this.serving.size, 0)),
      readiness: () =>
        Promise.all(
          [...this.serving.values()].map((worker) => askReadiness(worker, ++this.readinessRequest)),
        ),
      metrics: () => this.metrics.scrape([...this.serving.values()]),
    });
  }

  /** The first start: every worker serves, or all are stopped and why the first failed is thrown. */
  async startAll(healthServer: Server | undefined): Promise<void> {
    try {
      await Promise.all(Array.from({ length: this.config.server.workers }, () => this.fork()));
      this.firstStartDone = true;
    } catch (error) {
      this.shuttingDown = true;
      for (const worker of Object.values(cluster.workers ?? {})) worker?.kill();
      healthServer?.close();
      throw error;
    }
  }

  /** One worker, settled when it serves or when it exits before it did. */
  private fork(): Promise<void> {
    return new Promise((resolve, reject) => {
      const worker = cluster.fork();
      this.ledger?.attach(worker);
      let started = false;
      let failure: FromWorker<'kib:start-failed'> | undefined;
      worker.on('online', () =>
        worker.send({ type: 'kib:start', config: this.shared } satisfies PrimaryMessage),
      );
      worker.on('message', (message: unknown) => {
        this.fromWorker(worker, message);
        if (isMessage<FromWorker<'kib:listening'>>(message, 'kib:listening')) {
          started = true;
          this.address = { address: message.address, port: message.port };
          this.serving.set(worker.id, worker);
          resolve();
        }
        if (isMessage<FromWorker<'kib:start-failed'>>(message, 'kib:start-failed')) failure = message;
        // A request to the worker's TLS port for /readyz or /metrics: the cluster's answer, not its own.
        if (isMessage<FromWorker<'kib:ask'>>(message, 'kib:ask')) this.answerWorker(worker, message);
      });
      worker.on('exit', (code, signal) => {
        this.serving.delete(worker.id);
        this.metrics.workerExited(worker.id);
        if (!started) {
          reject(
            failure
              ? new WorkerStartError(failure.message, failure.usage)
              : new WorkerStartError(
                  `worker ${worker.process.pid} exited with ${code ?? signal} before serving`,
                ),
          );
        } else if (!this.shuttingDown) this.replace(worker, code, signal);
      });
    });
  }

  /** What the workers say about the files they all watch: counted, and logged, once for all. */
  private fromWorker(worker: Worker, message: unknown): void {
    if (isMessage<FromWorker<'kib:file-change'>>(message, 'kib:file-change'))
      this.metrics.fileChanged(message.change, worker.id);
    if (isMessage<FromWorker<'kib:policy-notice'>>(message, 'kib:policy-notice')) {
      const { level, message: text } = message;
      if (this.notices.isFirst(`${level} ${text}`, worker.id))
        this.log[level]({ context: 'PolicyStore' }, text);
    }
  }

  private answerWorker(worker: Worker, { id, question }: FromWorker<'kib:ask'>): void {
    this.answer('GET', question).then(
      (answered) =>
        worker.isConnected() &&
        worker.send({ type: 'kib:answer', id, answer: answered } satisfies PrimaryMessage),
      (error: unknown) => this.log.error({ err: error }, `answering a worker's ${question} failed`),
    );
  }

  /** A worker that died while serving: another in its place, after a pause, unless the cluster is stopping by then. */
  private replace(worker: Worker, code: number | null, signal: string | null): void {
    this.log.error(
      { pid: worker.process.pid, code, signal },
      'worker died while serving; starting a replacement',
    );
    setTimeout(() => {
      if (this.shuttingDown) return;
      this.metrics.workerRestarted();
      this.fork().catch((error: unknown) => this.log.error({ err: error }, 'replacement worker failed'));
    }, RESPAWN_DELAY_MS);
  }

  /** Every worker drains; the primary exits once all have, with 0 only when every one exited cleanly. */
  shutdown(signal: NodeJS.Signals, healthServer: Server | undefined): void {
    if (this.shuttingDown) return;
    this.shuttingDown = true;
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
    void Promise.all(stoppedAccepting).then(() => announceDraining(this.log, signal));
    void Promise.all(exited).then((codes) => {
      healthServer?.close();
      const clean = codes.every((code) => code === 0);
      this.log.flush(() => process.exit(clean ? 0 : 1));
    });
  }
}
