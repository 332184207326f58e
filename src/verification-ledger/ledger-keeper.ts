import cluster from 'node:cluster';
import { isMessage } from '../cluster-ipc';
import { LedgerFile, LedgerHealth } from './ledger-file';
import { LedgerIndex } from './ledger-index';
import { LedgerPrimaryMessage, LedgerWorkerMessage } from './ledger-messages';
import { LedgerRecord, parseRecord } from './ledger-record';

/** Where this process's ledger records go, and where its index learns of other processes' records. */
export interface LedgerKeeper {
  readonly health: LedgerHealth;
  readonly sizeBytes: number;
  append(record: LedgerRecord): void;
  close(): void;
}

/** A single process: it owns the file. */
export class FileLedgerKeeper implements LedgerKeeper {
  constructor(private readonly file: LedgerFile) {}

  get health(): LedgerHealth {
    return this.file.health;
  }

  get sizeBytes(): number {
    return this.file.sizeBytes;
  }

  append(record: LedgerRecord): void {
    this.file.append(record);
  }

  close(): void {
    this.file.close();
  }
}

/** How long a starting worker waits for the primary's records before serving without them. */
export const SNAPSHOT_TIMEOUT_MS = 10_000;

/**
 * A cluster worker: the primary owns the file. Records go to it and come back from it (every
 * worker's, as they are learnt), and a starting worker is sent every record first, so a restarted
 * worker admits what the others verified. Records from the channel are parsed like any others.
 */
export class WorkerLedgerKeeper implements LedgerKeeper {
  private state: LedgerHealth = {
    admission: 'off',
    problem: 'damaged',
    message: 'no records from the cluster primary yet',
    since: new Date().toISOString(),
  };
  private bytes = 0;
  private readonly listener = (message: unknown): void => this.hear(message);

  constructor(private readonly index: LedgerIndex) {}

  /** Asks the primary for every record; settles once they came, or after SNAPSHOT_TIMEOUT_MS. */
  start(): Promise<void> {
    process.on('message', this.listener);
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, SNAPSHOT_TIMEOUT_MS);
      timer.unref();
      this.snapshotArrived = () => {
        clearTimeout(timer);
        resolve();
      };
      process.send?.({ type: 'kib:ledger-hello' } satisfies LedgerWorkerMessage);
    });
  }

  private snapshotArrived = (): void => undefined;

  get health(): LedgerHealth {
    return this.state;
  }

  get sizeBytes(): number {
    return this.bytes;
  }

  append(record: LedgerRecord): void {
    this.index.put(record);
    if (cluster.isWorker && process.connected)
      process.send?.({ type: 'kib:ledger-record', record } satisfies LedgerWorkerMessage);
  }

  close(): void {
    process.off('message', this.listener);
  }

  private hear(message: unknown): void {
    if (
      isMessage<Extract<LedgerPrimaryMessage, { type: 'kib:ledger-snapshot' }>>(
        message,
        'kib:ledger-snapshot',
      )
    ) {
      this.take(message.records);
      this.state = message.health;
      this.bytes = message.sizeBytes;
      this.snapshotArrived();
    } else if (
      isMessage<Extract<LedgerPrimaryMessage, { type: 'kib:ledger-records' }>>(message, 'kib:ledger-records')
    ) {
      this.take(message.records);
      this.bytes = message.sizeBytes;
    } else if (
      isMessage<Extract<LedgerPrimaryMessage, { type: 'kib:ledger-health' }>>(message, 'kib:ledger-health')
    )
      this.state = message.health;
  }

  private take(records: readonly unknown[]): void {
    if (!Array.isArray(records)) return;
    for (const value of records) {
      const record = parseRecord(value);
      if (record !== undefined) this.index.put(record);
    }
  }
}
