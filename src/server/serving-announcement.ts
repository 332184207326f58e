import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import type { ServerConfig } from '../config';

type Address = Pick<AddressInfo, 'address' | 'port'>;

/**
 * How many processes serve and why, before they start: a memory limit is sized by it, and a
 * default read from the wrong CPU count is how a pod gets OOM-killed.
 */
export function announceWorkers(log: Logger, server: Pick<ServerConfig, 'workers' | 'workersReason'>): void {
  const what =
    server.workers === 1 ? '1 worker (a single process)' : `${server.workers} workers and a primary`;
  log.info(
    { workers: server.workers, reason: server.workersReason },
    `${what}: ${server.workersReason ?? 'as configured'}`,
  );
}

/**
 * The line that says the bouncer is serving, in one process or as a cluster. Scripts and the
 * conformance tier wait for its opening words.
 */
export function announceServing(
  log: Logger,
  address: Address,
  healthAddress: Address | undefined,
  workers: number,
): void {
  log.info(
    {
      address: `${address.address}:${address.port}`,
      healthAddress: healthAddress && `${healthAddress.address}:${healthAddress.port}`,
      workers,
    },
    `kube-image-bouncer serving ImageReview and AdmissionReview on https://${address.address}:${address.port}` +
      (workers > 1 ? ` with ${workers} workers` : '') +
      (healthAddress ? `, probes and metrics on http://${healthAddress.address}:${healthAddress.port}` : ''),
  );
}

/** Logged once the listeners have stopped accepting, so whoever reads it and connects is refused. */
export function announceDraining(log: Logger, signal: NodeJS.Signals): void {
  log.info({ signal }, `${signal} received: stopped accepting connections, draining in-flight reviews`);
}
