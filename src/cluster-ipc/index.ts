// What the cluster's primary and its workers say to each other over IPC.
export { isMessage } from './cluster-messages';
export type {
  ClusterAnswer,
  FileChange,
  MetricsSnapshot,
  PrimaryMessage,
  WorkerMessage,
} from './cluster-messages';
export { askPrimary } from './primary-questions';
export type { ServingStateSnapshot } from './serving-state-snapshot';
