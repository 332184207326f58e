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

/** Resident bytes of `pid` and of every process it started, by process id. */
export function residentBytesByProcess(pid: number): Map<number, number> {
  return new Map([pid, ...descendants(pid)].map((p) => [p, rssOf(p)]));
}

/** Resident bytes of `pid` and every process it started, together. */
export function residentBytesOfTree(pid: number): number {
  return [...residentBytesByProcess(pid).values()].reduce((sum, bytes) => sum + bytes, 0);
}
