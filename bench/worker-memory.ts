/**
 * `npm run bench:memory`: the resident memory of the primary and of each worker, idle, at their
 * peak under load, and after it, for `--workers` 1, 2 and 4, on this Node and on Node 24 (the
 * image's runtime) when `BENCH_NODE24` names its binary. Writes bench/worker-memory.json, which
 * test/deploy-kits.e2e-spec.ts reads to check that every kit's memory limit fits its workers.
 *
 * Each process's memory is read from /proc and split as a cgroup charges it: its anonymous memory
 * is its own, while the mapped node binary and libraries (about 49 MB) are shared by all of them and
 * charged once. Summing VmRSS would count that once per process. With `BENCH_MEMORY_CGROUP` naming a
 * cgroup v1 memory directory (or a v2 one) that may be created, each run is also placed in a fresh
 * child of it, and the cgroup's own peak charge is recorded as a cross-check.
 *
 * The load is the benchmark's five review bodies in turn (ImageReviews, a Pod, a Deployment, and a
 * 247 KiB AdmissionReview of 100 containers), each from 16 keep-alive TLS connections kept busy,
 * while /readyz and /metrics are asked every second, as the kubelet and Prometheus would.
 */
import 'reflect-metadata';
import { ChildProcess, spawn } from 'node:child_process';
import {
  closeSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readFileSync,
  rmdirSync,
  writeFileSync,
} from 'node:fs';
import { get } from 'node:http';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { freePort } from '../test/support/bouncer-process';
import { ResidentMemory, residentMemoryByProcess } from '../test/support/process-memory';
import { bouncerServeArgs, writeBenchCertificate } from './bench-server';
import { loadGenerator, saturate } from './load';
import { benchPayloads } from './payloads';
import { numberListSetting, numberSetting } from './settings';

const ROOT = join(__dirname, '..', '..');
const SECONDS_PER_PAYLOAD = numberSetting('BENCH_SECONDS', 6);
const WORKER_COUNTS = numberListSetting('BENCH_WORKER_COUNTS') ?? [1, 2, 4];
const SAMPLE_EVERY_MS = 200;
const SETTLE_MS = 3_000;
const MB = 2 ** 20;
/** The memory limit each run's cgroup gets, and so the largest kit limit these figures speak for. */
const MEASURED_UNDER_LIMIT_MB = numberSetting('BENCH_MEMORY_LIMIT_MB', 1024);

/** MiB of one process: its own (anonymous) memory and its mapped files, at one moment. */
export interface MemoryFigures {
  readonly rssMb: number;
  readonly anonymousMb: number;
  readonly fileMb: number;
}

/** One process at rest after start, at its peak under load (each figure's own peak), and after it. */
export interface ProcessMemory {
  readonly idle: MemoryFigures;
  readonly peak: MemoryFigures;
  readonly afterLoad: MemoryFigures;
}

export interface MemoryRun {
  readonly node: string;
  readonly workers: number;
  /** Absent with one worker: a single process serves, with no primary. */
  readonly primary?: ProcessMemory;
  readonly workerProcesses: readonly ProcessMemory[];
  readonly requests: number;
  /** The most the run's own memory cgroup was charged, when BENCH_MEMORY_CGROUP allowed one. */
  readonly cgroupPeakMb?: number;
}

const log = (message: string): void => {
  process.stderr.write(`${message}\n`);
};
const round = (bytes: number): number => Math.round((bytes / MB) * 10) / 10;
const figures = (memory: ResidentMemory | undefined): MemoryFigures => ({
  rssMb: round(memory?.rssBytes ?? 0),
  anonymousMb: round(memory?.anonymousBytes ?? 0),
  fileMb: round(memory?.fileBytes ?? 0),
});
const larger = (a: ResidentMemory | undefined, b: ResidentMemory): ResidentMemory => ({
  rssBytes: Math.max(a?.rssBytes ?? 0, b.rssBytes),
  anonymousBytes: Math.max(a?.anonymousBytes ?? 0, b.anonymousBytes),
  fileBytes: Math.max(a?.fileBytes ?? 0, b.fileBytes),
});

/** A fresh memory cgroup for one run, and how to read its peak charge (v1 or v2). */
function runCgroup(
  name: string,
): { dir: string; peakBytes: () => number; oomKills: () => number } | undefined {
  const parent = process.env.BENCH_MEMORY_CGROUP;
  if (!parent) return undefined;
  const dir = join(parent, name);
  mkdirSync(dir, { recursive: true });
  const v2 = existsSync(join(dir, 'memory.peak'));
  // Node sizes each process's V8 heap from the cgroup's limit (process.constrainedMemory()), so
  // figures measured under a limit hold for limits up to it.
  writeFileSync(join(dir, v2 ? 'memory.max' : 'memory.limit_in_bytes'), String(MEASURED_UNDER_LIMIT_MB * MB));
  const peakFile = v2 ? 'memory.peak' : 'memory.max_usage_in_bytes';
  const oomKills = (): number =>
    Number(
      /^oom_kill (\d+)$/m.exec(
        readFileSync(join(dir, v2 ? 'memory.events' : 'memory.oom_control'), 'utf8'),
      )?.[1] ?? 0,
    );
  return { dir, peakBytes: () => Number(readFileSync(join(dir, peakFile), 'utf8').trim()), oomKills };
}

async function startBouncer(
  node: string,
  workers: number,
  certPath: string,
  keyPath: string,
  scratch: string,
  cgroupDir?: string,
): Promise<{ child: ChildProcess; port: number; healthPort: number }> {
  const [port, healthPort] = [await freePort(), await freePort()];
  const logPath = join(scratch, `bouncer-${workers}-${port}.log`);
  const logFd = openSync(logPath, 'w');
  const command = [
    node,
    ...bouncerServeArgs({ certPath, keyPath, port, workers }),
    ...['--health-port', String(healthPort)],
  ];
  // The shell joins the cgroup and then becomes node, so the primary and every worker it forks are in it.
  const [file, ...argv] = cgroupDir
    ? ['sh', '-c', 'echo $$ > "$0/cgroup.procs" && exec "$@"', cgroupDir, ...command]
    : command;
  const child = spawn(file, argv, {
    cwd: ROOT,
    stdio: ['ignore', logFd, 'inherit'],
    env: { ...process.env, NO_COLOR: '1' },
  });
  closeSync(logFd);
  const deadline = Date.now() + 60_000;
  while (!readFileSync(logPath, 'utf8').includes('kube-image-bouncer serving')) {
    if (child.exitCode !== null || Date.now() > deadline)
      throw new Error(`bouncer did not start:\n${readFileSync(logPath, 'utf8')}`);
    await delay(50);
  }
  return { child, port, healthPort };
}

const probe = (port: number, path: string): Promise<void> =>
  new Promise((resolve) => {
    const request = get({ host: '127.0.0.1', port, path, agent: false }, (response) => {
      response.resume();
      response.on('end', resolve);
    });
    request.on('error', () => resolve());
  });

async function measure(node: string, workers: number, certPath: string, keyPath: string, scratch: string) {
  const cgroup = runCgroup(`kib-worker-memory-${process.pid}-${workers}`);
  const bouncer = await startBouncer(node, workers, certPath, keyPath, scratch, cgroup?.dir);
  const primaryPid = bouncer.child.pid!;
  try {
    await delay(SETTLE_MS);
    const idle = residentMemoryByProcess(primaryPid);
    const peak = new Map(idle);
    const sampler = setInterval(() => {
      for (const [pid, memory] of residentMemoryByProcess(primaryPid))
        peak.set(pid, larger(peak.get(pid), memory));
    }, SAMPLE_EVERY_MS);
    const prober = setInterval(() => {
      void probe(bouncer.healthPort, '/readyz');
      void probe(bouncer.healthPort, '/metrics');
    }, 1_000);
    let requests = 0;
    try {
      for (const payload of benchPayloads()) {
        const result = await saturate(bouncer.port, payload, SECONDS_PER_PAYLOAD, scratch);
        requests += Math.round(result.requestsPerSecond * SECONDS_PER_PAYLOAD);
        log(`  ${payload.name}: ${result.requestsPerSecond.toFixed(0)} req/s, ${result.errors} errors`);
      }
    } finally {
      clearInterval(sampler);
      clearInterval(prober);
    }
    await delay(SETTLE_MS);
    const after = residentMemoryByProcess(primaryPid);
    const of = (pid: number): ProcessMemory => ({
      idle: figures(idle.get(pid)),
      peak: figures(peak.get(pid)),
      afterLoad: figures(after.get(pid)),
    });
    const workerPids = [...after.keys()].filter((pid) => pid !== primaryPid);
    const cgroupPeakMb = cgroup && round(cgroup.peakBytes());
    // A process killed for memory would make every figure of the run meaningless.
    if (cgroup && cgroup.oomKills() > 0)
      throw new Error(`--workers ${workers} was OOM-killed under ${MEASURED_UNDER_LIMIT_MB} MiB`);
    const run: MemoryRun =
      workers === 1
        ? { node, workers, workerProcesses: [of(primaryPid)], requests, cgroupPeakMb }
        : {
            node,
            workers,
            primary: of(primaryPid),
            workerProcesses: workerPids.map(of),
            requests,
            cgroupPeakMb,
          };
    return run;
  } finally {
    bouncer.child.kill('SIGTERM');
    await new Promise((resolve) => bouncer.child.once('exit', resolve));
    if (cgroup) rmdirSync(cgroup.dir);
  }
}

async function main(): Promise<void> {
  const scratch = mkdtempSync(join(tmpdir(), 'bouncer-memory-'));
  const { certPath, keyPath } = await writeBenchCertificate(scratch);
  const nodes = [process.execPath, ...(process.env.BENCH_NODE24 ? [process.env.BENCH_NODE24] : [])];

  const runs: MemoryRun[] = [];
  for (const node of nodes) {
    const version = await new Promise<string>((resolve) => {
      const child = spawn(node, ['--version']);
      let out = '';
      child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
      child.on('exit', () => resolve(out.trim()));
    });
    for (const workers of WORKER_COUNTS) {
      log(`node ${version}, --workers ${workers}`);
      const run = await measure(node, workers, certPath, keyPath, scratch);
      runs.push({ ...run, node: version });
      const peaks = [...(run.primary ? [run.primary] : []), ...run.workerProcesses].map(
        (p) => p.peak.anonymousMb,
      );
      log(
        `  own memory at peak, MiB (primary first): ${peaks.join(', ')}; cgroup peak ${run.cgroupPeakMb ?? '-'}`,
      );
    }
  }

  const peak = (pick: (run: MemoryRun) => readonly ProcessMemory[], of: keyof MemoryFigures): number =>
    Math.max(...runs.flatMap(pick).map((p) => p.peak[of]));
  const everyProcess = (run: MemoryRun) => [...(run.primary ? [run.primary] : []), ...run.workerProcesses];
  const report = {
    measuredAt: new Date().toISOString(),
    machine: { cores: cpus().length, cpu: cpus()[0]?.model },
    loadGenerator: loadGenerator(),
    connections: 16,
    measuredUnderLimitMb: process.env.BENCH_MEMORY_CGROUP ? MEASURED_UNDER_LIMIT_MB : null,
    secondsPerPayload: SECONDS_PER_PAYLOAD,
    payloads: benchPayloads().map((p) => p.name),
    runs,
    /**
     * What the kits are sized by, the largest peaks seen over every run and runtime: a primary's and
     * a worker's own memory (a single process counts as a worker), and the mapped files all of them
     * share, charged once.
     */
    sizing: {
      primaryMb: peak((run) => (run.primary ? [run.primary] : []), 'anonymousMb'),
      workerMb: peak((run) => run.workerProcesses, 'anonymousMb'),
      sharedMb: peak(everyProcess, 'fileMb'),
    },
  };
  writeFileSync(join(ROOT, 'bench', 'worker-memory.json'), `${JSON.stringify(report, null, 2)}\n`);
  process.stdout.write(`${JSON.stringify(report.sizing)}\n`);
}

main().catch((error: unknown) => {
  process.stderr.write(
    `memory bench failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
  );
  process.exit(1);
});
