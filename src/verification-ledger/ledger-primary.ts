import type { Worker } from 'node:cluster';
import { isMessage } from '../cluster-ipc';
import { LedgerFile, LedgerHealth } from './ledger-file';
import { LedgerIndex } from './ledger-index';
import { LedgerPrimaryMessage, LedgerWorkerMessage } from './ledger-messages';
import { parseRecord } from './ledger-record';

/**
 * A cluster's ledger, kept by the primary: the one writer of the file, so two workers never write
 * it at once and compaction needs no lock; a worker that dies loses nothing it had sent, and its
 * replacement is sent every record before it serves. Each record a worker learns is written and
 * passed on to the others at once.
 */
export class ClusterLedger {
  private readonly index = new LedgerIndex();
  private readonly file: LedgerFile;
  private readonly workers = new Set<Worker>();
  private reported: LedgerHealth['admission'];

  constructor(
    readonly dir: string,
    keyFile: string | undefined,
    log: (level: 'warn' | 'error', message: string) => void,
  ) {
    this.file = new LedgerFile({ dir, keyFile, index: this.index, now: Date.now, log });
    this.file.open();
    this.reported = this.file.health.admission;
  }

  get health(): LedgerHealth {
    return this.file.health;
  }

  attach(worker: Worker): void {
    this.workers.add(worker);
    worker.on('message', (message: unknown) => this.hear(worker, message));
    worker.once('exit', () => this.workers.delete(worker));
  }

  close(): void {
    this.file.close();
  }

  private hear(from: Worker, message: unknown): void {
    if (isMessage<Extract<LedgerWorkerMessage, { type: 'kib:ledger-hello' }>>(message, 'kib:ledger-hello')) {
      send(from, {
        type: 'kib:ledger-snapshot',
        records: this.index.records(),
        health: this.file.health,
        sizeBytes: this.file.sizeBytes,
      });
      return;
    }
    if (!isMessage<Extract<LedgerWorkerMessage, { type: 'kib:ledger-record' }>>(message, 'kib:ledger-record'))
      return;
    const record = parseRecord(message.record);
    // Older news than the index holds is neither written nor passed on.
    if (record === undefined || !this.index.put(record)) return;
    this.file.append(record);
    for (const worker of this.workers)
      if (worker !== from)
        send(worker, { type: 'kib:ledger-records', records: [record], sizeBytes: this.file.sizeBytes });
    if (this.file.health.admission !== this.reported) {
      this.reported = this.file.health.admission;
      for (const worker of this.workers)
        send(worker, { type: 'kib:ledger-health', health: this.file.health });
    }
  }
}

function send(worker: Worker, message: LedgerPrimaryMessage): void {
  if (worker.isConnected()) worker.send(message);
}
