import cluster from 'node:cluster';
import { InvalidConfigError } from '../config';
import { HealthController, ServingState } from '../health';
import { PinoNestLogger, createBouncerLogger } from '../logging';
import { MetricsService } from '../metrics';
import { PolicyStore, InvalidPolicyError } from '../policy';
import { ListenError, RunningWebhookServer, startWebhookServer } from '../server';
import { TlsMaterialError, TlsMaterialService } from '../tls';
import { PrimaryMessage, WorkerMessage, isMessage } from '../cluster-ipc';

const send = (message: WorkerMessage): void => {
  process.send?.(message);
};

/** Errors in what the user gave (flags, files), which the primary reports as such: exit status 2. */
const USAGE_ERRORS = [ListenError, TlsMaterialError, InvalidPolicyError, InvalidConfigError];

/**
 * Tells the primary why this worker cannot start, in one line it prints as a single process would,
 * then exits; without this the primary could only say that a worker exited.
 */
function reportStartFailure(error: unknown): Promise<never> {
  const usage = USAGE_ERRORS.some((type) => error instanceof type);
  const message =
    error instanceof Error ? (usage ? error.message : (error.stack ?? error.message)) : String(error);
  return new Promise(() => {
    const exit = (): never => process.exit(usage ? 2 : 1);
    if (!process.send) exit();
    else process.send({ type: 'kib:start-failed', message, usage } satisfies WorkerMessage, exit);
  });
}

/**
 * Tells the primary of every change of the files all workers watch, and of what the policy store
 * would log about the policy file: the primary counts and logs each once for all workers.
 */
function reportFileChanges(server: RunningWebhookServer): void {
  const policy = server.app.get(PolicyStore);
  let revision = policy.current.revision;
  policy.onReload((result) => {
    const key =
      result === 'applied'
        ? `${revision} → ${policy.current.revision}`
        : `${revision} kept: ${policy.lastRefusal?.message ?? ''}`;
    revision = policy.current.revision;
    send({ type: 'kib:file-change', change: { file: 'policy', result, key } });
  });
  policy.onNotice((level, message) => send({ type: 'kib:policy-notice', level, message }));
  const tls = server.app.get(TlsMaterialService);
  let fingerprint = tls.current.fingerprint256;
  tls.onRotation((result, material) => {
    const key =
      result === 'applied'
        ? `${fingerprint} → ${material.fingerprint256}`
        : `${fingerprint} kept: ${tls.lastRefusal?.message ?? ''}`;
    fingerprint = tls.current.fingerprint256;
    send({ type: 'kib:file-change', change: { file: 'certificate', result, key } });
  });
}

/**
 * A cluster worker: waits for the configuration the primary resolved, serves reviews on the shared
 * TLS port (the primary owns the health port), answers the primary's readiness questions, and
 * drains when told to, when signalled, or when the primary goes away.
 */
export async function runClusterWorker(): Promise<void> {
  const start = await new Promise<Extract<PrimaryMessage, { type: 'kib:start' }>>((resolve) => {
    const listener = (message: unknown): void => {
      if (!isMessage<Extract<PrimaryMessage, { type: 'kib:start' }>>(message, 'kib:start')) return;
      process.off('message', listener);
      resolve(message);
    };
    process.on('message', listener);
  });
  const config = { ...start.config, server: { ...start.config.server, healthPort: undefined } };
  const log = createBouncerLogger(config.log).child({ worker: cluster.worker?.id });
  let server: RunningWebhookServer;
  try {
    server = await startWebhookServer(config, { logger: new PinoNestLogger(log) });
  } catch (error) {
    return reportStartFailure(error);
  }
  reportFileChanges(server);
  send({ type: 'kib:listening', address: server.address.address, port: server.address.port });

  const drain = (): void => {
    const closing = server.close();
    send({ type: 'kib:draining' });
    closing.then(
      () => log.flush(() => process.exit(0)),
      (error: unknown) => {
        log.error({ err: error }, 'shutdown failed');
        log.flush(() => process.exit(1));
      },
    );
  };
  process.on('message', (message: unknown) => {
    if (isMessage(message, 'kib:shutdown')) drain();
    if (isMessage<Extract<PrimaryMessage, { type: 'kib:metrics' }>>(message, 'kib:metrics')) {
      const { id } = message;
      server.app
        .get(MetricsService)
        .registry.getMetricsAsJSON()
        .then(
          (metrics) => send({ type: 'kib:metrics', id, metrics }),
          (error: unknown) => log.error({ err: error }, 'collecting metrics for the primary failed'),
        );
    }
    if (isMessage<Extract<PrimaryMessage, { type: 'kib:readyz' }>>(message, 'kib:readyz')) {
      const { id } = message;
      const state = server.app.get(ServingState).snapshot();
      server.app
        .get(HealthController)
        .readiness()
        .then(
          ({ ready, body }) => send({ type: 'kib:readyz', id, ready, body, state }),
          (error: unknown) => send({ type: 'kib:readyz', id, ready: false, body: String(error), state }),
        );
    }
  });
  process.once('SIGTERM', drain);
  process.once('SIGINT', drain);
  process.once('disconnect', drain);
}
