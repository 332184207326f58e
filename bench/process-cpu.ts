import { readFileSync, readdirSync } from 'node:fs';

/**
 * Whose CPU a pod created through the apiserver costs: the apiserver's, etcd's, the bouncer's (its
 * primary and the workers it forks) and the load generator's, each from /proc between two readings.
 * On a machine where all of them share two cores, "what the bouncer adds" to a latency is every extra
 * millisecond of CPU any of them spends per pod, queued behind the others; these figures say whose.
 */

/** Linux reports utime and stime in USER_HZ ticks, which is 100 on every architecture it ships for. */
const TICKS_PER_SECOND = 100;

/** The parent and CPU ticks (user + system) of one /proc/PID/stat line. */
export interface ProcessTicks {
  readonly ppid: number;
  readonly ticks: number;
}

/** Parses /proc/PID/stat: the command in field 2 is in parentheses and may itself hold spaces and ')'. */
export function processTicksOf(stat: string): ProcessTicks | undefined {
  const afterCommand = stat
    .slice(stat.lastIndexOf(')') + 1)
    .trim()
    .split(/\s+/);
  // Field 3 (state) is afterCommand[0]: ppid is field 4, utime field 14 and stime field 15.
  const [ppid, utime, stime] = [afterCommand[1], afterCommand[11], afterCommand[12]].map(Number);
  if (![ppid, utime, stime].every(Number.isFinite)) return undefined;
  return { ppid, ticks: utime + stime };
}

function ticksOf(pid: number): ProcessTicks | undefined {
  try {
    return processTicksOf(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return undefined;
  }
}

/**
 * CPU seconds so far of each named process and its living children (a cluster's primary and its
 * workers), from one pass over /proc; a name whose process is gone reads 0.
 */
export function cpuSecondsOfTrees(roots: ReadonlyMap<string, number>): Record<string, number> {
  const living = new Map<number, ProcessTicks>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const ticks = ticksOf(Number(entry));
    if (ticks !== undefined) living.set(Number(entry), ticks);
  }
  const seconds: Record<string, number> = {};
  for (const [name, pid] of roots) {
    let ticks = living.get(pid)?.ticks ?? 0;
    for (const process of living.values()) if (process.ppid === pid) ticks += process.ticks;
    seconds[name] = ticks / TICKS_PER_SECOND;
  }
  return seconds;
}

/** The last PID each name was recorded with in a run directory's `pids` file (`<name> <pid>` lines). */
export function latestPids(pidFile: string): Map<string, number> {
  const pids = new Map<string, number>();
  for (const line of pidFile.split('\n')) {
    const [name, pid] = line.trim().split(/\s+/);
    if (name && Number.isInteger(Number(pid))) pids.set(name, Number(pid));
  }
  return pids;
}

/** CPU milliseconds per admitted pod, by process, between `from` and `to` readings of CPU seconds. */
export function cpuMsPerPod(
  from: Readonly<Record<string, number>>,
  to: Readonly<Record<string, number>>,
  admitted: number,
): Record<string, number> {
  return Object.fromEntries(
    Object.keys(to).map((name) => [
      name,
      admitted > 0 ? Number((((to[name] - (from[name] ?? 0)) * 1000) / admitted).toFixed(3)) : NaN,
    ]),
  );
}
