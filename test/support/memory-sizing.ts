import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * How much memory a bouncer with N workers needs, from the figures `npm run bench:memory` measured
 * (bench/worker-memory.json): the largest peak of a primary's and of a worker's own memory, and the
 * mapped files they all share (the node binary, charged once), over Node 20 and Node 24.
 */
export interface MeasuredMemory {
  readonly sizing: { readonly primaryMb: number; readonly workerMb: number; readonly sharedMb: number };
  /** Each run's cgroup limit: Node sizes its heaps from it, so the figures hold for limits up to it. */
  readonly measuredUnderLimitMb: number | null;
}

export const MEASURED: MeasuredMemory = JSON.parse(
  readFileSync(join(__dirname, '..', '..', 'bench', 'worker-memory.json'), 'utf8'),
) as MeasuredMemory;

/**
 * Headroom over the measured peaks, for what the benchmark did not provoke: a larger policy, more
 * connections at once, a GC that runs late, a Node patch release.
 */
export const MEMORY_MARGIN = 0.25;

/** MiB that N workers need, with the margin. One worker is one process: no primary. */
export function requiredMemoryMb(workers: number, measured: MeasuredMemory = MEASURED): number {
  const { primaryMb, workerMb, sharedMb } = measured.sizing;
  return (sharedMb + (workers > 1 ? primaryMb : 0) + workers * workerMb) * (1 + MEMORY_MARGIN);
}

const MiB = 2 ** 20;

/** A Kubernetes quantity (`640Mi`, `1Gi`, `700M`) in MiB. */
export function kubernetesQuantityMb(quantity: string | number): number {
  const match = /^(\d+(?:\.\d+)?)(Ki|Mi|Gi|Ti|k|M|G|T)?$/.exec(String(quantity));
  if (!match) throw new Error(`not a memory quantity: ${quantity}`);
  const factor: Record<string, number> = {
    '': 1,
    Ki: 2 ** 10,
    Mi: 2 ** 20,
    Gi: 2 ** 30,
    Ti: 2 ** 40,
    k: 1e3,
    M: 1e6,
    G: 1e9,
    T: 1e12,
  };
  return (Number(match[1]) * factor[match[2] ?? '']) / MiB;
}

/** Docker's `--memory` and Compose's `mem_limit` (`640m`, `1g`): binary units. */
export function dockerMemoryMb(value: string): number {
  const match = /^(\d+)([bkmg])?$/i.exec(value);
  if (!match) throw new Error(`not a docker memory value: ${value}`);
  const power = { b: 0, k: 1, m: 2, g: 3 }[(match[2] ?? 'b').toLowerCase() as 'b' | 'k' | 'm' | 'g'];
  return (Number(match[1]) * 1024 ** power) / MiB;
}

/** systemd's `MemoryMax=` (`640M`, `1G`): K, M, G, T are powers of 1024 (systemd.resource-control(5)). */
export function systemdMemoryMb(value: string): number {
  const match = /^(\d+)([KMGT])?$/.exec(value);
  if (!match) throw new Error(`not a systemd memory value: ${value}`);
  const power = { '': 0, K: 1, M: 2, G: 3, T: 4 }[(match[2] ?? '') as '' | 'K' | 'M' | 'G' | 'T'];
  return (Number(match[1]) * 1024 ** power) / MiB;
}
