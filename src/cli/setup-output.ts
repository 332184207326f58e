import {
  closeSync,
  existsSync,
  fchmodSync,
  fchownSync,
  mkdirSync,
  openSync,
  readFileSync,
  rmSync,
  statSync,
  writeSync,
} from 'node:fs';
import { join } from 'node:path';
import { CommandInputError } from './command-input.error';

export const PRIVATE_MODE = 0o600;
/** A private key the server's group may read: owner read-write, group read, nothing for others. */
export const GROUP_READABLE_MODE = 0o640;
export const PUBLIC_MODE = 0o644;

/** One file `setup` writes. */
export interface SetupOutputFile {
  readonly path: string;
  readonly contents: string;
  readonly mode: number;
  /** The group that is given the file, for a key the server (running as that group) must read. */
  readonly gid?: number;
}

/** Refuses, naming them, when any of `names` exists in `directory` and `force` is not set. */
export function refuseToOverwrite(
  directory: string,
  names: readonly string[],
  force: boolean | undefined,
): void {
  if (existsSync(directory) && !statSync(directory).isDirectory())
    throw new CommandInputError(`${directory} exists and is not a directory`);
  const existing = names.filter((name) => existsSync(join(directory, name)));
  if (existing.length > 0 && !force)
    throw new CommandInputError(
      `refusing to overwrite ${existing.length === 1 ? 'a file' : `${existing.length} files`} in ${directory}; pass --force to replace them:`,
      existing,
    );
}

/**
 * Writes each file. Removing first, then creating exclusively, means a key never lands in a file
 * that had a laxer mode, and a symlink planted at the path is not followed. The group and mode are
 * set on the open file before anything is written to it, and with fchmod, which the umask does not
 * narrow (a umask of 077 would otherwise take the group's read away).
 */
export function writeSetupOutput(directory: string, files: readonly SetupOutputFile[]): void {
  mkdirSync(directory, { recursive: true });
  for (const file of files) {
    rmSync(file.path, { force: true });
    const fd = openSync(file.path, 'wx', PRIVATE_MODE);
    try {
      if (file.gid !== undefined) fchownSync(fd, -1, file.gid);
      fchmodSync(fd, file.mode);
      writeSync(fd, file.contents);
    } finally {
      closeSync(fd);
    }
  }
}

/** Group names from /etc/group; groups only a directory service knows must be given by number. */
function gidOfName(name: string, groupFile: string): number | undefined {
  let groups = '';
  try {
    groups = readFileSync(groupFile, 'utf8');
  } catch {
    return undefined;
  }
  const entry = groups.split('\n').find((line) => line.split(':')[0] === name);
  return entry === undefined ? undefined : Number(entry.split(':')[2]);
}

/**
 * The gid of `--group` (a number, or a name in /etc/group), or a problem. Only root, or a member
 * of the group, may give a file to it (chown(2)), so anyone else is told before anything is written.
 */
export function resolveGroup(
  group: string | number,
  groupFile = '/etc/group',
): { gid: number } | { problem: string } {
  const shown = JSON.stringify(String(group));
  const gid = /^\d+$/.test(String(group)) ? Number(group) : gidOfName(String(group), groupFile);
  if (gid === undefined || !Number.isSafeInteger(gid) || gid > 0xfffffffe)
    return { problem: `--group must be a group ID or a group name in ${groupFile} (got ${shown})` };
  const uid = process.getuid?.();
  if (uid !== undefined && uid !== 0 && !(process.getgroups?.() ?? []).includes(gid))
    return {
      problem: `--group ${gid}: only root or a member of the group may give files to it, and this is uid ${uid} (got ${shown})`,
    };
  return { gid };
}
