import { availableParallelism } from 'node:os';
import { CpuQuota, readCpuQuota } from './cgroup-cpu-quota';

/** The most `--workers` accepts. */
export const MAX_WORKERS = 256;

/** How many server processes to run, and why, for the start-up log. */
export interface WorkerCount {
  readonly workers: number;
  readonly reason: string;
}

const plural = (n: number, one: string, many: string): string => `${n} ${n === 1 ? one : many}`;
const cpus = (n: number): string => plural(n, 'CPU', 'CPUs');

/**
 * One worker per CPU the process may really use: the cgroup CPU quota, rounded down, capped by the
 * CPUs it may run on (`os.availableParallelism()`, which follows the affinity mask and cpusets).
 *
 * Rounded down, as uber-go/automaxprocs does, not up as Go 1.25's runtime does: a worker is a
 * process of its own with its own heap, and a fraction of a CPU is better left to the primary and
 * to each process's GC and libuv threads than split into one more worker that the CFS throttles.
 * Under one CPU it is still one process, since something has to serve.
 */
export function defaultWorkerCount(quota: CpuQuota | undefined, availableCpus: number): WorkerCount {
  const available = Math.min(Math.max(1, availableCpus), MAX_WORKERS);
  const availability = `${cpus(availableCpus)} available (os.availableParallelism)`;
  if (quota === undefined)
    return { workers: available, reason: `no CPU quota on the process's cgroup, and ${availability}` };
  const whole = Math.max(1, Math.floor(quota.cpus));
  const workers = Math.min(whole, available);
  const source = `the cgroup v${quota.cgroupVersion} CPU quota: ${quota.file} is "${quota.setting}", ${cpus(Number(quota.cpus.toFixed(3)))}`;
  const rounding =
    workers < whole
      ? `, capped by the ${availability}`
      : whole !== quota.cpus
        ? `, rounded ${quota.cpus < 1 ? 'up' : 'down'} to ${whole}, of ${availability}`
        : `, of ${availability}`;
  return { workers, reason: `${source}${rounding}` };
}

/** The default for this process: its cgroup's CPU quota and the CPUs it may run on. */
export function workersForThisProcess(): WorkerCount {
  return defaultWorkerCount(readCpuQuota(), availableParallelism());
}
