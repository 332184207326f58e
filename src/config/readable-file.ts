import { Stats, accessSync, constants, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';

const octal = (stats: Stats): string => `0${(stats.mode & 0o777).toString(8).padStart(3, '0')}`;
const ownership = (stats: Stats): string => `mode ${octal(stats)}, owner uid ${stats.uid} gid ${stats.gid}`;

/** Who this process is, as the kernel checks file permissions. */
function thisProcess(): string {
  const uid = process.getuid?.();
  if (uid === undefined) return 'this process';
  const groups = [...new Set([process.getgid?.(), ...(process.getgroups?.() ?? [])])].filter(
    (gid) => gid !== undefined,
  );
  return `uid ${uid} (gid${groups.length === 1 ? '' : 's'} ${groups.join(', ')})`;
}

function canAccess(path: string, mode: number): boolean {
  try {
    accessSync(path, mode);
    return true;
  } catch {
    return false;
  }
}

/** The nearest directory above `path` that this process cannot enter, and what it is. */
function closedDirectory(path: string): string | undefined {
  for (let dir = dirname(resolve(path)); ; dir = dirname(dir)) {
    if (!canAccess(dir, constants.X_OK)) {
      try {
        return `the directory ${JSON.stringify(dir)} (${ownership(statSync(dir))}) is closed to ${thisProcess()}`;
      } catch {
        // Not even visible: keep walking up to one that is.
      }
    }
    if (dir === dirname(dir)) return undefined;
  }
}

/**
 * Why `path` cannot be read as a file, or undefined when it can. A missing file keeps the plain
 * message; a file that exists but is closed to this process says so, with its mode and owner and
 * who asked, since "cannot read" alone sends people looking for a typo in the path when the fix is
 * `chgrp` (setup's `--group`) or the container's user.
 */
export function unreadableFileProblem(path: unknown): string | undefined {
  const shown = JSON.stringify(path);
  if (typeof path !== 'string' || path.length === 0) return `cannot read file ${shown}`;
  let stats: Stats;
  try {
    stats = statSync(path);
  } catch (error) {
    const closed = (error as NodeJS.ErrnoException).code === 'EACCES' ? closedDirectory(path) : undefined;
    return closed ? `cannot read file ${shown}: permission denied, ${closed}` : `cannot read file ${shown}`;
  }
  if (!stats.isFile())
    return `cannot read file ${shown}: it is ${stats.isDirectory() ? 'a directory' : 'not a regular file'}`;
  if (!canAccess(path, constants.R_OK))
    return `cannot read file ${shown}: permission denied, it is ${ownership(stats)} and this is ${thisProcess()}`;
  return undefined;
}
