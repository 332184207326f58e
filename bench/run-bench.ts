/**
 * `npm run bench`: the bouncer against a raw node:https baseline, in the same run, with the same
 * load generator and payloads. Every figure that matters is a ratio, because absolute numbers on a
 * shared 2-core machine mean little. Writes bench/results.json and bench/*.svg; the last line of
 * stdout is the summary object.
 */
import 'reflect-metadata';
import { ChildProcess, spawn } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { createSelfSignedCertificate } from '../src/tls/certificate-issuer';
import { freePort } from '../test/support/bouncer-process';
import { residentBytesOfTree } from '../test/support/process-memory';
import { writeBenchCharts } from './bench-charts';
import { measureDecisionCost } from './decision-cost';
import { FixedRateResult, SaturationResult, atFixedRate, loadGenerator, saturate } from './load';
import { BenchPayload, benchPayloads } from './payloads';

const ROOT = join(__dirname, '..', '..');
const SECONDS = Number(process.env.BENCH_SECONDS ?? 8);
const WARMUP_SECONDS = Number(process.env.BENCH_WARMUP_SECONDS ?? 2);
const FIXED_RATE = 1000;

interface RunningServer {
  readonly name: string;
  readonly port: number;
  readonly process: ChildProcess;
}

export interface ServerFigures {
  readonly saturation: SaturationResult;
  readonly fixedRate: FixedRateResult;
  readonly rssMb: number;
}

const log = (message: string): void => {
  process.stderr.write(`${message}\n`);
};

/**
 * Starts a server with its output going to a file, as journald or a container runtime takes it. A
 * pipe read by this process would be drained by the same event loop that drives the fixed-rate
 * load, so a busy client would hold up the server's log writes and show up as server latency.
 */
async function start(
  name: string,
  args: string[],
  port: number,
  readyText: string,
  scratch: string,
): Promise<RunningServer> {
  const logPath = join(scratch, `${name.replace(/\W+/g, '-')}-${port}.log`);
  const logFd = openSync(logPath, 'w');
  const child = spawn(process.execPath, args, {
    cwd: ROOT,
    stdio: ['ignore', logFd, 'inherit'],
    env: { ...process.env, NO_COLOR: '1' },
  });
  closeSync(logFd);
  let exited: number | null | undefined;
  child.once('exit', (code) => (exited = code));
  const deadline = Date.now() + 60_000;
  while (!readFileSync(logPath, 'utf8').includes(readyText)) {
    if (exited !== undefined || Date.now() > deadline)
      throw new Error(`${name} was not ready (exit ${exited}):\n${readFileSync(logPath, 'utf8')}`);
    await delay(50);
  }
  return { name, port, process: child };
}

async function measure(
  server: RunningServer,
  payload: BenchPayload,
  scratch: string,
): Promise<ServerFigures> {
  await saturate(server.port, payload, WARMUP_SECONDS, scratch);
  const saturation = await saturate(server.port, payload, SECONDS, scratch);
  const fixedRate = await atFixedRate(server.port, payload, FIXED_RATE, SECONDS);
  const figures = { saturation, fixedRate, rssMb: residentBytesOfTree(server.process.pid!) / 2 ** 20 };
  log(
    `  ${server.name.padEnd(9)} ${saturation.requestsPerSecond.toFixed(0).padStart(6)} req/s` +
      `  p50 ${fixedRate.p50Ms.toFixed(2)} ms  p99 ${fixedRate.p99Ms.toFixed(2)} ms at ${FIXED_RATE}/s` +
      `  rss ${figures.rssMb.toFixed(0)} MB  errors ${saturation.errors + fixedRate.failed}`,
  );
  return figures;
}

const ratio = (ours: number, baseline: number): number => (baseline > 0 ? ours / baseline : NaN);

async function main(): Promise<void> {
  const scratch = mkdtempSync(join(tmpdir(), 'bouncer-bench-'));
  const certificate = await createSelfSignedCertificate({
    commonName: 'bench',
    usages: ['server'],
    ipAddresses: ['127.0.0.1'],
  });
  const certPath = join(scratch, 'server.crt');
  const keyPath = join(scratch, 'server.key');
  writeFileSync(certPath, certificate.certificatePem);
  writeFileSync(keyPath, certificate.privateKeyPem);
  const generator = loadGenerator();
  log(
    `kube-image-bouncer bench: ${cpus().length} cores, node ${process.version}, load by ${generator}, ${SECONDS} s per run`,
  );

  const bouncer = async (name: string, workers: number): Promise<RunningServer> => {
    const port = await freePort();
    const args = [
      'dist/main.js',
      'serve',
      '--cert',
      certPath,
      '--key',
      keyPath,
      '--host',
      '127.0.0.1',
      '--port',
      String(port),
      '--workers',
      String(workers),
    ];
    return start(name, args, port, 'kube-image-bouncer serving', scratch);
  };
  const reference = async (name: string, script: string): Promise<RunningServer> => {
    const port = await freePort();
    return start(
      name,
      [join('.bench-build', 'bench', script), certPath, keyPath, String(port)],
      port,
      'ready',
      scratch,
    );
  };
  const servers = [
    await reference('baseline', 'baseline-server.js'),
    await reference('express', 'express-floor-server.js'),
    await reference('nest', 'nest-floor-server.js'),
    await bouncer('bouncer', 1),
  ];
  const payloads = benchPayloads();
  const results: { payload: string; sizeBytes: number; figures: Record<string, ServerFigures> }[] = [];
  try {
    for (const payload of payloads) {
      log(`${payload.name} (${(payload.body.length / 1024).toFixed(1)} KiB)`);
      const figures: Record<string, ServerFigures> = {};
      for (const server of servers) figures[server.name] = await measure(server, payload, scratch);
      results.push({ payload: payload.name, sizeBytes: payload.body.length, figures });
    }
  } finally {
    servers.forEach((server) => server.process.kill('SIGTERM'));
  }

  // Scaling with cluster workers, on the two most common review shapes.
  const scaling: { payload: string; workers: number; requestsPerSecond: number }[] = [];
  for (const workers of [1, 2]) {
    const server = await bouncer(`bouncer x${workers}`, workers);
    try {
      for (const payload of [payloads[0], payloads[2]]) {
        await saturate(server.port, payload, WARMUP_SECONDS, scratch);
        const { requestsPerSecond } = await saturate(server.port, payload, SECONDS, scratch);
        log(`  ${server.name}: ${payload.name}: ${requestsPerSecond.toFixed(0)} req/s`);
        scaling.push({ payload: payload.name, workers, requestsPerSecond });
      }
    } finally {
      server.process.kill('SIGTERM');
      await delay(500);
    }
  }

  const decision = await measureDecisionCost(payloads[2].body);
  log(
    `decision cost, Pod AdmissionReview: ${decision.decisionOnlyUs.toFixed(1)} us (${decision.perReviewUs.toFixed(1)} us with JSON parse and reply)`,
  );

  const throughputRatios = results.map((r) =>
    ratio(r.figures.bouncer.saturation.requestsPerSecond, r.figures.baseline.saturation.requestsPerSecond),
  );
  const summary = {
    throughput_ratio_min: Math.min(...throughputRatios),
    p99_ms_at_1000rps_max: Math.max(...results.map((r) => r.figures.bouncer.fixedRate.p99Ms)),
    rss_mb_max: Math.max(...results.map((r) => r.figures.bouncer.rssMb)),
    decision_us_pod: decision.decisionOnlyUs,
  };
  const report = {
    measuredAt: new Date().toISOString(),
    machine: { cores: cpus().length, cpu: cpus()[0]?.model, node: process.version },
    loadGenerator: generator,
    secondsPerRun: SECONDS,
    fixedRate: FIXED_RATE,
    payloads: results.map((r, i) => ({ ...r, throughputRatio: throughputRatios[i] })),
    scaling,
    decisionCostUs: decision,
    summary,
  };
  writeFileSync(join(ROOT, 'bench', 'results.json'), `${JSON.stringify(report, null, 2)}\n`);

  writeBenchCharts(report.payloads, FIXED_RATE);
  process.stdout.write(`${JSON.stringify(summary)}\n`);
}

main().catch((error: unknown) => {
  process.stderr.write(
    `bench failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
  );
  process.exit(1);
});
