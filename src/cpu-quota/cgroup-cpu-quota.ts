import { readFileSync } from 'node:fs';
import { join, posix } from 'node:path';

/**
 * The CPU bandwidth the kernel grants this process's cgroup: `quota` microseconds of CPU time per
 * `period`, so `cpus` = quota / period (a Kubernetes `limits.cpu: 1500m` is 150000 per 100000).
 */
export interface CpuQuota {
  readonly cpus: number;
  readonly cgroupVersion: 1 | 2;
  /** The file that sets it, as this process sees it: `/sys/fs/cgroup/cpu.max`. */
  readonly file: string;
  /** What the file says: `150000 100000`, or for v1 `150000 / 100000` (quota / period). */
  readonly setting: string;
}

/** One line of /proc/self/cgroup that governs the cpu controller. */
interface CpuCgroup {
  readonly version: 1 | 2;
  /** The cgroup's path from its hierarchy's root (the namespace's root, under a cgroup namespace). */
  readonly path: string;
}

/** A mount of the hierarchy that holds the cpu controller, from /proc/self/mountinfo. */
interface CgroupMount {
  /** Which cgroup of the hierarchy is mounted: `/` usually, `/docker/<id>` for a v1 container. */
  readonly root: string;
  readonly mountPoint: string;
}

/** Reads a file under `root`, which stands in for `/`; undefined when it is not there. */
function readUnder(root: string, path: string): string | undefined {
  try {
    return readFileSync(join(root, path), 'utf8');
  } catch {
    return undefined;
  }
}

/**
 * The cgroup of the cpu controller, from /proc/self/cgroup (`hierarchy-ID:controllers:path`,
 * https://man7.org/linux/man-pages/man7/cgroups.7.html). Under cgroup v1 the cpu controller is on a
 * line of its own (`4:cpu,cpuacct:/docker/<id>`); only when no v1 hierarchy has it does the v2 line
 * (`0::/path`) govern it: a controller bound to a v1 hierarchy is absent from v2 on hybrid hosts.
 */
function cpuCgroup(membership: string): CpuCgroup | undefined {
  const lines = membership
    .split('\n')
    .filter(Boolean)
    .map((line) => {
      const [id, controllers, ...path] = line.split(':');
      return { id, controllers: controllers?.split(',') ?? [], path: path.join(':') };
    });
  const v1 = lines.find((line) => line.id !== '0' && line.controllers.includes('cpu'));
  if (v1) return { version: 1, path: v1.path };
  const v2 = lines.find((line) => line.id === '0' && line.controllers.join('') === '');
  return v2 && { version: 2, path: v2.path };
}

/** mountinfo escapes space, tab, newline and backslash in paths as octal (`\040`). */
const unescapeMountPath = (path: string): string =>
  path.replace(/\\([0-7]{3})/g, (_, octal: string) => String.fromCharCode(parseInt(octal, 8)));

/**
 * Where the hierarchy of `cgroup` is mounted, from /proc/self/mountinfo
 * (https://man7.org/linux/man-pages/man5/proc_pid_mountinfo.5.html): `ID parent major:minor root
 * mount-point options [optional fields] - fstype source super-options`. A v1 hierarchy is the
 * `cgroup` mount whose super-options name the cpu controller.
 */
function cgroupMount(mountinfo: string, cgroup: CpuCgroup): CgroupMount | undefined {
  for (const line of mountinfo.split('\n')) {
    const [before, after] = line.split(' - ');
    if (after === undefined) continue;
    const fields = before.split(' ');
    const [fstype, , superOptions = ''] = after.split(' ');
    const matches =
      cgroup.version === 2
        ? fstype === 'cgroup2'
        : fstype === 'cgroup' && superOptions.split(',').includes('cpu');
    if (matches && fields.length >= 5)
      return { root: unescapeMountPath(fields[3]), mountPoint: unescapeMountPath(fields[4]) };
  }
  return undefined;
}

/**
 * The directories that may limit the process, as it sees them: its own cgroup's, then each visible
 * ancestor's up to the mount point. A parent's limit binds its children, and systemd puts
 * `CPUQuota=` on the unit while a slice may set a tighter one (golang/go#81180 is the mistake of
 * reading the leaf only).
 */
function limitingDirectories(cgroup: CpuCgroup, mount: CgroupMount): string[] {
  // The mount shows the hierarchy from `mount.root` down; a path outside it (a cgroup namespace
  // root shown as `/..`, or a v1 container whose /proc shows the host's path) leaves only the mount
  // point itself, which container runtimes make the container's own cgroup.
  const inside =
    mount.root === '/' || cgroup.path === mount.root || cgroup.path.startsWith(`${mount.root}/`)
      ? cgroup.path.slice(mount.root === '/' ? 0 : mount.root.length) || '/'
      : '/';
  const directories: string[] = [];
  for (let dir = posix.normalize(inside); ; dir = posix.dirname(dir)) {
    directories.push(posix.join(mount.mountPoint, dir));
    if (dir === '/' || dir === '.') break;
  }
  return directories;
}

/** cgroup v2 `cpu.max`: `$MAX $PERIOD`, `max` meaning no limit (Documentation/admin-guide/cgroup-v2.rst). */
function v2Quota(root: string, directory: string): CpuQuota | undefined {
  const file = posix.join(directory, 'cpu.max');
  const setting = readUnder(root, file)?.trim();
  const [quota, period] = setting?.split(/\s+/).map(Number) ?? [];
  if (!setting || !(quota > 0) || !(period > 0)) return undefined;
  return { cpus: quota / period, cgroupVersion: 2, file, setting };
}

/** cgroup v1 CFS bandwidth: `cpu.cfs_quota_us` (-1 for no limit) per `cpu.cfs_period_us` (sched-bwc.rst). */
function v1Quota(root: string, directory: string): CpuQuota | undefined {
  const file = posix.join(directory, 'cpu.cfs_quota_us');
  const quota = Number(readUnder(root, file)?.trim());
  const period = Number(readUnder(root, posix.join(directory, 'cpu.cfs_period_us'))?.trim());
  if (!(quota > 0) || !(period > 0)) return undefined;
  return { cpus: quota / period, cgroupVersion: 1, file, setting: `${quota} / ${period}` };
}

/**
 * The tightest CPU quota on this process's cgroup or a visible ancestor, cgroup v2 or v1; undefined
 * when none is set (or there are no cgroups, as off Linux). `root` stands in for `/`, so tests read
 * fixture folders laid out like a real filesystem.
 */
export function readCpuQuota(root = '/'): CpuQuota | undefined {
  const membership = readUnder(root, '/proc/self/cgroup');
  const mountinfo = readUnder(root, '/proc/self/mountinfo');
  const cgroup = membership === undefined ? undefined : cpuCgroup(membership);
  const mount = cgroup && mountinfo !== undefined ? cgroupMount(mountinfo, cgroup) : undefined;
  if (!cgroup || !mount) return undefined;
  const read = cgroup.version === 2 ? v2Quota : v1Quota;
  return limitingDirectories(cgroup, mount)
    .map((directory) => read(root, directory))
    .reduce<CpuQuota | undefined>(
      (tightest, quota) => (quota && (!tightest || quota.cpus < tightest.cpus) ? quota : tightest),
      undefined,
    );
}
