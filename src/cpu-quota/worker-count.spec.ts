import { join } from 'node:path';
import { readCpuQuota } from './cgroup-cpu-quota';
import { defaultWorkerCount } from './worker-count';

const fixture = (name: string): string => join(__dirname, 'fixtures', name);

describe(defaultWorkerCount.name, () => {
  const quotaIn = (name: string) => readCpuQuota(fixture(name));

  it.each([
    [
      'v2-container-1-cpu',
      8,
      1,
      'the cgroup v2 CPU quota: /sys/fs/cgroup/cpu.max is "100000 100000", 1 CPU, of 8 CPUs available (os.availableParallelism)',
    ],
    [
      'v2-container-4-cpus',
      8,
      4,
      'the cgroup v2 CPU quota: /sys/fs/cgroup/cpu.max is "400000 100000", 4 CPUs, of 8 CPUs available (os.availableParallelism)',
    ],
    [
      'v2-container-4-cpus',
      2,
      2,
      'the cgroup v2 CPU quota: /sys/fs/cgroup/cpu.max is "400000 100000", 4 CPUs, capped by the 2 CPUs available (os.availableParallelism)',
    ],
    [
      'v2-container-1500m',
      8,
      1,
      'the cgroup v2 CPU quota: /sys/fs/cgroup/cpu.max is "150000 100000", 1.5 CPUs, rounded down to 1, of 8 CPUs available (os.availableParallelism)',
    ],
    [
      'v2-container-250m',
      8,
      1,
      'the cgroup v2 CPU quota: /sys/fs/cgroup/cpu.max is "25000 100000", 0.25 CPUs, rounded up to 1, of 8 CPUs available (os.availableParallelism)',
    ],
    [
      'v1-docker-3-cpus',
      64,
      3,
      'the cgroup v1 CPU quota: /sys/fs/cgroup/cpu,cpuacct/cpu.cfs_quota_us is "300000 / 100000", 3 CPUs, of 64 CPUs available (os.availableParallelism)',
    ],
    [
      'v2-container-unlimited',
      6,
      6,
      "no CPU quota on the process's cgroup, and 6 CPUs available (os.availableParallelism)",
    ],
  ])('in %s with %d CPUs available runs %d', (name, available, workers, reason) => {
    expect(defaultWorkerCount(quotaIn(name), available)).toEqual({ workers, reason });
  });

  it('never exceeds what --workers accepts', () => {
    expect(defaultWorkerCount(undefined, 512).workers).toBe(256);
  });
});
