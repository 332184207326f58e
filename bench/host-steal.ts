import { readFileSync } from 'node:fs';

/**
 * The CPU time a VM's host took from it (the `steal` column of /proc/stat), so that a run says how
 * much of the machine it really had. Every ratio of the bench compares servers on one machine, and
 * a host that takes a fifth of it during one comparison and none during another moves that ratio.
 */
export interface CpuTimes {
  readonly steal: number;
  /** user, nice, system, idle, iowait, irq, softirq and steal: guest time is inside user already. */
  readonly total: number;
}

/** The aggregate `cpu` line of /proc/stat, or undefined when there is none. */
export function cpuTimesOf(procStat: string): CpuTimes | undefined {
  const line = procStat.split('\n').find((l) => l.startsWith('cpu '));
  if (line === undefined) return undefined;
  const fields = line.trim().split(/\s+/).slice(1, 9).map(Number);
  if (fields.length < 8 || fields.some((f) => !Number.isFinite(f))) return undefined;
  return { steal: fields[7], total: fields.reduce((sum, f) => sum + f, 0) };
}

/** Now, on Linux; undefined elsewhere. */
export function readCpuTimes(): CpuTimes | undefined {
  try {
    return cpuTimesOf(readFileSync('/proc/stat', 'utf8'));
  } catch {
    return undefined;
  }
}

/** The share of CPU time stolen between two readings, in percent with one decimal. */
export function stealPercent(from: CpuTimes | undefined, to: CpuTimes | undefined): number | undefined {
  if (from === undefined || to === undefined || to.total <= from.total) return undefined;
  return Math.round((1000 * (to.steal - from.steal)) / (to.total - from.total)) / 10;
}
