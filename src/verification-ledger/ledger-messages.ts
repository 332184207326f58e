import type { LedgerHealth } from './ledger-file';
import type { LedgerRecord } from './ledger-record';

// What a cluster's workers and its primary, which alone writes the ledger file, say to each other
// about it. Prefixed like every other message on the channel (src/cluster-ipc).

export type LedgerWorkerMessage =
  /** A worker starting: send me every record. */
  | { readonly type: 'kib:ledger-hello' }
  /** A verdict or a tag resolution this worker learnt, for the file and the other workers. */
  | { readonly type: 'kib:ledger-record'; readonly record: LedgerRecord };

export type LedgerPrimaryMessage =
  | {
      readonly type: 'kib:ledger-snapshot';
      readonly records: readonly LedgerRecord[];
      readonly health: LedgerHealth;
      readonly sizeBytes: number;
    }
  | {
      readonly type: 'kib:ledger-records';
      readonly records: readonly LedgerRecord[];
      readonly sizeBytes: number;
    }
  | { readonly type: 'kib:ledger-health'; readonly health: LedgerHealth };
