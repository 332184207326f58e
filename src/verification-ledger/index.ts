// The verification ledger as others see it: the engine asks it during an outage, the cluster
// primary keeps its file, metrics and /readyz read its state.
export { VerificationLedger } from './verification-ledger.service';
export type { LedgerAnswer, LedgerEvent, LedgerPin, LedgerWindow } from './verification-ledger.service';
export { VerificationLedgerModule } from './verification-ledger.module';
export { LedgerClock } from './ledger-clock';
export { ClusterLedger } from './ledger-primary';
export type { LedgerHealth } from './ledger-file';
export { describeAge } from './ledger-record';
export type { LedgerEvidence, VerdictSubject, TagSubject } from './ledger-record';
export type { RefreshOutcome, RefreshResult } from './hot-digests';
export { isOutage, OUTAGE_REASONS } from './registry-outages';
