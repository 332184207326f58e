import { spawnSync } from 'node:child_process';
import { cpuMsPerPod, cpuSecondsOfTrees, latestPids, processTicksOf } from './process-cpu';

describe('process CPU', () => {
  describe(processTicksOf.name, () => {
    it('reads the parent and user plus system ticks after the command, whatever the command holds', () => {
      const stat = '4242 (node) (worker 1)) S 4200 4242 4242 0 -1 4194560 100 0 0 0 731 269 0 0 20 0 11 0';
      expect(processTicksOf(stat)).toEqual({ ppid: 4200, ticks: 1000 });
    });

    it('is undefined for a line it cannot read', () => {
      expect(processTicksOf('')).toBeUndefined();
      expect(processTicksOf('12 (etcd) S')).toBeUndefined();
    });
  });

  describe(latestPids.name, () => {
    it('keeps the last pid recorded under each name: a restarted bouncer is the one running', () => {
      const pids = latestPids('etcd 10\nkube-image-bouncer 20\nkube-apiserver 30\nkube-image-bouncer 40\n\n');
      expect(Object.fromEntries(pids)).toEqual({ etcd: 10, 'kube-image-bouncer': 40, 'kube-apiserver': 30 });
    });
  });

  describe(cpuMsPerPod.name, () => {
    it('divides each process’s CPU between the readings by the pods admitted', () => {
      expect(cpuMsPerPod({ apiserver: 10, bouncer: 2 }, { apiserver: 12.5, bouncer: 3 }, 1000)).toEqual({
        apiserver: 2.5,
        bouncer: 1,
      });
    });

    it('says nothing per pod when no pod was admitted, rather than dividing by zero into Infinity', () => {
      expect(cpuMsPerPod({ bouncer: 1 }, { bouncer: 2 }, 0).bouncer).toBeNaN();
    });
  });

  describe(cpuSecondsOfTrees.name, () => {
    it('counts a living process’s CPU from /proc, and more once it has spent some', () => {
      const self = (): number => cpuSecondsOfTrees(new Map([['self', process.pid]])).self;
      const before = self();
      // Spend 50 ms of CPU, however long a busy machine takes to give it: five of /proc's 10 ms ticks.
      const spent = (): number => {
        const { user, system } = process.cpuUsage();
        return (user + system) / 1000;
      };
      const until = spent() + 50;
      while (spent() < until) Math.sqrt(Math.random());
      expect(self()).toBeGreaterThan(before);
    });

    it('is zero for a process that is gone', () => {
      const gone = spawnSync('true').pid;
      expect(cpuSecondsOfTrees(new Map([['gone', gone]]))).toEqual({ gone: 0 });
    });
  });
});
