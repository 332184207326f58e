// Cluster mode: a primary and the workers it forks.
export { WorkerStartError, runClusterPrimary } from './cluster-primary';
export { runClusterWorker } from './cluster-worker';
