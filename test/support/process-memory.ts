import { readFileSync, readdirSync } from 'node:fs';

// Resident memory of a process tree from /proc (Linux): a clustered bouncer is a primary and its
// workers, and each is measured.

/** Every descendant of `pid`, from /proc (Linux). */
function descendants(pid: number): number[] {
  const found: number[] = [];
  const visit = (parent: number): void => {
    let tasks: string[];
    try {
      tasks = readdirSync(`/proc/${parent}/task`);
    } catch {
      return;
    }
    for (const task of tasks) {
      let children = '';
      try {
        children = readFileSync(`/proc/${parent}/task/${task}/children`, 'utf8');
      } catch {
        continue;
      }
      for (const child of children.split(' ').filter(Boolean).map(Number)) {
        found.push(child);
        visit(child);
      }
    }
  };
  visit(pid);
  return found;
}

function rssOf(pid: number): number {
  try {
    const match = /^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match ? Number(match[1]) * 1024 : 0;
  } catch {
    return 0;
  }
}

/**
 * A process's resident memory, split as the kernel charges it to a cgroup: `anonymous` is its own
 * (heap, stacks), `file` is mapped files such as the node binary, which every process of the same
 * binary shares and a cgroup is charged for once (and can reclaim under pressure).
 */
export interface ResidentMemory {
  readonly rssBytes: number;
  readonly anonymousBytes: number;
  readonly fileBytes: number;
}

function residentMemoryOf(pid: number): ResidentMemory {
  let status = '';
  try {
    status = readFileSync(`/proc/${pid}/status`, 'utf8');
  } catch {
    // Exited: nothing resident.
  }
  const kB = (field: string): number =>
    Number(new RegExp(`^${field}:\\s+(\\d+) kB$`, 'm').exec(status)?.[1] ?? 0) * 1024;
  return { rssBytes: kB('VmRSS'), anonymousBytes: kB('RssAnon'), fileBytes: kB('RssFile') + kB('RssShmem') };
}

/** The resident memory of `pid` and of every process it started, split as cgroups charge it. */
export function residentMemoryByProcess(pid: number): Map<number, ResidentMemory> {
  return new Map([pid, ...descendants(pid)].map((p) => [p, residentMemoryOf(p)]));
}

/** Resident bytes of `pid` and of every process it started, by process id. */
export function residentBytesByProcess(pid: number): Map<number, number> {
  return new Map([pid, ...descendants(pid)].map((p) => [p, rssOf(p)]));
}

/** Resident bytes of `pid` and every process it started, together. */
export function residentBytesOfTree(pid: number): number {
  return [...residentBytesByProcess(pid).values()].reduce((sum, bytes) => sum + bytes, 0);
}
