// How many workers this process may fork, from the CPU quota it actually has.
export { MAX_WORKERS, workersForThisProcess } from './worker-count';
export type { WorkerCount } from './worker-count';
