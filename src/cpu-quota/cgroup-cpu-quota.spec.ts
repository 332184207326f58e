import { join } from 'node:path';
import { readCpuQuota } from './cgroup-cpu-quota';

/** Each folder is laid out like `/`: proc/self/cgroup, proc/self/mountinfo and the cgroup files. */
const fixture = (name: string): string => join(__dirname, 'fixtures', name);

describe(readCpuQuota.name, () => {
  it.each([
    [
      'v2-container-1-cpu',
      { cpus: 1, cgroupVersion: 2, file: '/sys/fs/cgroup/cpu.max', setting: '100000 100000' },
    ],
    [
      'v2-container-4-cpus',
      { cpus: 4, cgroupVersion: 2, file: '/sys/fs/cgroup/cpu.max', setting: '400000 100000' },
    ],
    [
      'v2-container-1500m',
      { cpus: 1.5, cgroupVersion: 2, file: '/sys/fs/cgroup/cpu.max', setting: '150000 100000' },
    ],
    [
      'v2-container-250m',
      { cpus: 0.25, cgroupVersion: 2, file: '/sys/fs/cgroup/cpu.max', setting: '25000 100000' },
    ],
    [
      // The unit itself is unlimited; the slice above it is not, and binds it.
      'v2-systemd-slice-quota',
      { cpus: 2, cgroupVersion: 2, file: '/sys/fs/cgroup/bouncer.slice/cpu.max', setting: '200000 100000' },
    ],
    [
      // /proc/self/cgroup shows the host's path; the mount is the container's own cgroup.
      'v1-docker-3-cpus',
      {
        cpus: 3,
        cgroupVersion: 1,
        file: '/sys/fs/cgroup/cpu,cpuacct/cpu.cfs_quota_us',
        setting: '300000 / 100000',
      },
    ],
    [
      // cpu on a v1 hierarchy of its own beside the v2 one: v1 governs it.
      'v1-hybrid-2-cpus',
      {
        cpus: 2,
        cgroupVersion: 1,
        file: '/sys/fs/cgroup/cpu/ci/job-7/cpu.cfs_quota_us',
        setting: '100000 / 50000',
      },
    ],
  ])('reads %s', (name, quota) => {
    expect(readCpuQuota(fixture(name))).toEqual(quota);
  });

  it.each(['v2-container-unlimited', 'v1-unlimited', 'no-cgroups'])('finds no quota in %s', (name) => {
    expect(readCpuQuota(fixture(name))).toBeUndefined();
  });
});
