/**
 * `npm run bench`: the bouncer against a raw node:https baseline, in the same run, with the same
 * load generator and payloads. Every figure that matters is a ratio, because absolute numbers on a
 * shared 2-core machine mean little. Writes bench/results.json and bench/*.svg; the last line of
 * stdout is the summary object, with each target of the Performance section met or not.
 *
 * Parts of a run, for measuring one change (they write bench/results.partial.json, no charts):
 *   BENCH_PAYLOADS=1,3        only these payloads (1-based, as the README numbers them)
 *   BENCH_SERVERS=nest,bouncer only these servers
 *   BENCH_SKIP=payloads,scaling,registry,decision
 *   BENCH_BEFORE=DIR          one more server, "before": the bouncer built in DIR (a copy of dist/), on the
 *                             review payloads and on the verification paths of the registry payloads
 *   BENCH_PAIR_CYCLES=5       cycles of a b b a in each paired comparison of the registry part
 */
import 'reflect-metadata';
import { ChildProcess, spawn } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { request as httpsRequest } from 'node:https';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { freePort } from '../test/support/bouncer-process';
import { residentBytesOfTree } from '../test/support/process-memory';
import { apiserverFiguresOf } from './apiserver-figures';
import { writeBenchCharts } from './bench-charts';
import { measureDecisionCost } from './decision-cost';
import { bouncerServeArgs, writeBenchCertificate } from './bench-server';
import {
  FixedRateResult,
  PINNED_CORES,
  SaturationResult,
  atFixedRate,
  atFixedRatePinned,
  loadGenerator,
  pinProcesses,
  saturate,
} from './load';
import { BenchPayload, benchPayloads } from './payloads';
import { readCpuTimes, stealPercent } from './host-steal';
import { PairCycle, PairedRates, pairedRates } from './paired-rates';
import { BenchRegistry, startBenchRegistry } from './registry-fixture';
import { listSetting, numberListSetting, numberSetting, runSeconds } from './settings';

const ROOT = join(__dirname, '..', '..');
const { seconds: SECONDS, warmupSeconds: WARMUP_SECONDS } = runSeconds({ seconds: 8, warmupSeconds: 2 });
/**
 * A server started for the registry part serves this long before its first timed run. V8 takes
 * some 6,000 reviews to settle (CPU per review falls by half over the first ones), so a server
 * compared with one that has served for minutes would otherwise be judged on its cold start.
 */
const SETTLE_SECONDS = numberSetting('BENCH_SETTLE_SECONDS', 10);
/** Cycles of a paired comparison (pairedSaturation), and how long each of their runs lasts. */
const PAIR_CYCLES = numberSetting('BENCH_PAIR_CYCLES', 5);
const PAIR_RUN_SECONDS = Math.max(2, SECONDS / 2);
const FIXED_RATE = 1000;
/** Cold registry paths make a registry round trip (or several) per review: a rate both sides sustain. */
const COLD_RATE = 200;
const ONLY_PAYLOADS = numberListSetting('BENCH_PAYLOADS');
const ONLY_SERVERS = listSetting('BENCH_SERVERS');
const SKIP = new Set(listSetting('BENCH_SKIP') ?? []);
const BEFORE_DIST = process.env.BENCH_BEFORE;
const PARTIAL = ONLY_PAYLOADS !== undefined || ONLY_SERVERS !== undefined || SKIP.size > 0 || !!BEFORE_DIST;
const PINNED = cpus().length >= 2;

interface RunningServer {
  readonly name: string;
  readonly port: number;
  readonly process: ChildProcess;
}

export interface ServerFigures {
  readonly saturation: SaturationResult;
  /** Client and server share both cores, as before the pinned run existed. */
  readonly fixedRate: FixedRateResult;
  /** The load generator on one core and the server on the other (`taskset`): what the server does. */
  readonly pinnedFixedRate?: FixedRateResult;
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

/** Runs `run` with the server's processes on PINNED_CORES.server, then gives them every core back. */
async function pinnedTo<T>(pids: readonly number[], run: () => Promise<T>): Promise<T> {
  pinProcesses(pids, String(PINNED_CORES.server));
  try {
    return await run();
  } finally {
    pinProcesses(pids, `0-${cpus().length - 1}`);
  }
}

async function measure(
  server: RunningServer,
  payload: BenchPayload,
  scratch: string,
): Promise<ServerFigures> {
  await saturate(server.port, payload, WARMUP_SECONDS, scratch);
  const saturation = await saturate(server.port, payload, SECONDS, scratch);
  const fixedRate = await atFixedRate(server.port, payload, FIXED_RATE, SECONDS);
  const pinnedFixedRate = PINNED
    ? await pinnedTo([server.process.pid!], () =>
        atFixedRatePinned(server.port, payload, FIXED_RATE, SECONDS, scratch),
      )
    : undefined;
  const figures = {
    saturation,
    fixedRate,
    ...(pinnedFixedRate ? { pinnedFixedRate } : {}),
    rssMb: residentBytesOfTree(server.process.pid!) / 2 ** 20,
  };
  const pinned = pinnedFixedRate
    ? `  pinned p50 ${pinnedFixedRate.p50Ms.toFixed(2)} ms  p99 ${pinnedFixedRate.p99Ms.toFixed(2)} ms`
    : '';
  log(
    `  ${server.name.padEnd(9)} ${saturation.requestsPerSecond.toFixed(0).padStart(6)} req/s` +
      `  p50 ${fixedRate.p50Ms.toFixed(2)} ms  p99 ${fixedRate.p99Ms.toFixed(2)} ms at ${FIXED_RATE}/s${pinned}` +
      `  rss ${figures.rssMb.toFixed(0)} MB  errors ${saturation.errors + fixedRate.failed + (pinnedFixedRate?.failed ?? 0)}`,
  );
  return figures;
}

/**
 * Two saturation measurements to be compared (each after a warm-up): PAIR_CYCLES cycles of runs
 * in the order a b b a, half as long as a single run, and the median over cycles (see
 * paired-rates.ts). One cycle of four long runs let a single burst of the host's load decide it.
 */
async function pairedSaturation(
  a: { port: number; payload: BenchPayload },
  b: { port: number; payload: BenchPayload },
  scratch: string,
): Promise<PairedRates> {
  for (const { port, payload } of [a, b]) await saturate(port, payload, WARMUP_SECONDS, scratch);
  const rate = async ({ port, payload }: typeof a): Promise<number> =>
    (await saturate(port, payload, PAIR_RUN_SECONDS, scratch)).requestsPerSecond;
  const cycles: PairCycle[] = [];
  for (let i = 0; i < PAIR_CYCLES; i++)
    cycles.push([await rate(a), await rate(b), await rate(b), await rate(a)]);
  const rates = pairedRates(cycles);
  // Every run, in order, so that drift within a cycle shows beside the ratio it gives.
  for (const [i, cycle] of cycles.entries())
    log(
      `    cycle ${i + 1} (a b b a): ${cycle.map((r) => r.toFixed(0)).join(' ')} req/s, b/a ${rates.cycleRatios[i].toFixed(2)}`,
    );
  return rates;
}

/** One review to `path`, its AdmissionReview response, to check a fixture before timing it. */
async function reviewOnce(port: number, payload: BenchPayload): Promise<Record<string, unknown>> {
  const response = await fetchInsecure(port, payload);
  return (JSON.parse(response) as { response: Record<string, unknown> }).response;
}

function fetchInsecure(port: number, payload: BenchPayload): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = httpsRequest(
      {
        host: '127.0.0.1',
        port,
        path: payload.path,
        method: 'POST',
        rejectUnauthorized: false,
        headers: { 'content-type': 'application/json' },
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (text += chunk));
        res.on('end', () => resolve(text));
      },
    );
    req.on('error', reject);
    req.end(payload.body);
  });
}

/**
 * The registry part. Each pair of rates and its ratio come from pairedSaturation: medians over
 * cycles, so `ratio` is not always `requestsPerSecond` over its baseline exactly.
 */
export interface RegistryFigures {
  readonly coldRate: number;
  /** /mutate from the tag cache, and /validate of the same Pod on the same server. */
  readonly mutate: {
    readonly requestsPerSecond: number;
    readonly validateSamePod: number;
    readonly ratio: number;
  };
  /** verifySignatures from the caches, and the string-only path (default policy) on the same review. */
  readonly verified: {
    readonly requestsPerSecond: number;
    readonly stringOnly: number;
    readonly ratio: number;
  };
  /**
   * verifyAttestations with two conditions from the caches, against the string-only path on the
   * same review, and against verifySignatures from the caches (what the conditions add to a cache hit).
   */
  readonly attested: {
    readonly requestsPerSecond: number;
    readonly stringOnly: number;
    readonly ratio: number;
    readonly verified: number;
    readonly overVerified: number;
  };
  /** Pinned, at coldRate: the registry's own HEAD of the tag, and the cold paths over it. */
  readonly registryHead: FixedRateResult;
  readonly mutateCold: FixedRateResult;
  readonly verifyCold: FixedRateResult;
  readonly mutateColdOverHeadP99: number;
  readonly verifyColdOverHeadP99: number;
  /**
   * The registry process stopped: the digest-pinned signed Pod at coldRate, from the verdict cache
   * (a verified verdict still cached) and from the verification ledger (no verdict cache).
   */
  readonly outage: {
    readonly cacheHit: FixedRateResult;
    readonly ledger: FixedRateResult;
    readonly ledgerOverCacheHitP99: number;
  };
  /** With BENCH_BEFORE: the verification paths of the bouncer built before the change, in the same run. */
  readonly before?: {
    /** verifySignatures from the caches, before and after, paired. */
    readonly verified: { readonly before: number; readonly after: number; readonly afterOverBefore: number };
    readonly verifyCold: FixedRateResult;
    readonly verifyColdAfterOverBeforeP99: number;
  };
}

/**
 * Issue 28's outage: both servers verify the digest-pinned signed Pod while the registry is up (the
 * ledger server records it), then the registry process is stopped, and both are timed at coldRate.
 * The ledger server keeps no verdict cache, so each of its reviews is answered by the ledger.
 */
async function measureOutage(
  fixture: BenchRegistry,
  cached: RunningServer,
  ledger: RunningServer,
  scratch: string,
): Promise<RegistryFigures['outage']> {
  const payload = fixture.payloads.verifiedByDigest;
  for (const server of [cached, ledger]) {
    const answer = await reviewOnce(server.port, payload);
    if (answer.allowed !== true) throw new Error(`${server.name} did not verify: ${JSON.stringify(answer)}`);
  }
  await fixture.registry.stop();
  const during = await reviewOnce(ledger.port, payload);
  const annotations = during.auditAnnotations as Record<string, string> | undefined;
  if (during.allowed !== true || annotations?.['decision-source'] !== 'ledger')
    throw new Error(`${ledger.name} did not admit from the ledger: ${JSON.stringify(during)}`);
  const timed = (server: RunningServer): Promise<FixedRateResult> =>
    PINNED
      ? pinnedTo([server.process.pid!], () =>
          atFixedRatePinned(server.port, payload, COLD_RATE, SECONDS, scratch),
        )
      : atFixedRate(server.port, payload, COLD_RATE, SECONDS);
  const cacheHit = await timed(cached);
  const fromLedger = await timed(ledger);
  return { cacheHit, ledger: fromLedger, ledgerOverCacheHitP99: fromLedger.p99Ms / cacheHit.p99Ms };
}

/** The registry payloads of issues 17 and 18, against a local docker-registry. */
async function measureRegistryPaths(
  bouncer: (name: string, workers: number, policy?: string, dist?: string) => Promise<RunningServer>,
  scratch: string,
  beforeDist?: string,
): Promise<RegistryFigures> {
  let fixture: BenchRegistry | undefined;
  const servers: RunningServer[] = [];
  try {
    fixture = await startBenchRegistry(scratch);
    log(`registry payloads, against docker-registry at ${fixture.registry.host}`);
    const start = async (name: string, policy?: string, dist?: string): Promise<RunningServer> => {
      const server = await bouncer(name, 1, policy, dist);
      servers.push(server);
      return server;
    };
    const plain = await start('string-only');
    const pin = await start('pin', fixture.policies.pin);
    const pinCold = await start('pin-cold', fixture.policies.pinCold);
    const verify = await start('verify', fixture.policies.verify);
    const attested = await start('attested', fixture.policies.attested);
    const verifyColdServer = await start('verify-cold', fixture.policies.verifyCold);
    const verifyLedger = await start('verify-ledger', fixture.policies.verifyLedger);
    const verifyBefore = beforeDist
      ? await start('verify (before)', fixture.policies.verify, beforeDist)
      : undefined;
    const verifyColdBefore = beforeDist
      ? await start('verify-cold (before)', fixture.policies.verifyCold, beforeDist)
      : undefined;
    const { payloads } = fixture;

    // What is timed must be what it claims: a pin, and a verified allow.
    for (const server of [pin, pinCold]) {
      const answer = await reviewOnce(server.port, payloads.mutate);
      if (answer.patchType !== 'JSONPatch')
        throw new Error(`${server.name} did not pin: ${JSON.stringify(answer)}`);
    }
    const mustAdmit: (readonly [RunningServer, BenchPayload])[] = [
      [verify, payloads.verified],
      [attested, payloads.attested],
      [verifyColdServer, payloads.verified],
      ...(verifyBefore
        ? ([
            [verifyBefore, payloads.verified],
            [verifyColdBefore!, payloads.verified],
          ] as const)
        : []),
    ];
    for (const [server, payload] of mustAdmit) {
      const answer = await reviewOnce(server.port, payload);
      if (answer.allowed !== true)
        throw new Error(`${server.name} did not verify: ${JSON.stringify(answer)}`);
    }

    // Every server compared at saturation settles the same way first, on what it is timed on.
    const settling: (readonly [RunningServer, BenchPayload])[] = [
      [pin, payloads.mutate],
      [plain, payloads.verified],
      [verify, payloads.verified],
      [attested, payloads.attested],
      ...(verifyBefore ? ([[verifyBefore, payloads.verified]] as const) : []),
    ];
    for (const [server, payload] of settling) await saturate(server.port, payload, SETTLE_SECONDS, scratch);

    const {
      a: validateSamePod,
      b: mutateRps,
      ratio: mutateRatio,
    } = await pairedSaturation(
      { port: pin.port, payload: payloads.validateSamePod },
      { port: pin.port, payload: payloads.mutate },
      scratch,
    );
    log(
      `  /mutate from the tag cache ${mutateRps.toFixed(0)} req/s, /validate of the same Pod ${validateSamePod.toFixed(0)} req/s`,
    );
    const {
      a: stringOnly,
      b: verifiedRps,
      ratio: verifiedRatio,
    } = await pairedSaturation(
      { port: plain.port, payload: payloads.verified },
      { port: verify.port, payload: payloads.verified },
      scratch,
    );
    log(
      `  verifySignatures from the caches ${verifiedRps.toFixed(0)} req/s, the string-only path ${stringOnly.toFixed(0)} req/s`,
    );

    const {
      a: stringOnlyForAttested,
      b: attestedRps,
      ratio: attestedRatio,
    } = await pairedSaturation(
      { port: plain.port, payload: payloads.attested },
      { port: attested.port, payload: payloads.attested },
      scratch,
    );
    const {
      a: verifiedForAttested,
      b: attestedAgainstVerified,
      ratio: attestedOverVerified,
    } = await pairedSaturation(
      { port: verify.port, payload: payloads.attested },
      { port: attested.port, payload: payloads.attested },
      scratch,
    );
    log(
      `  verifyAttestations with two conditions from the caches ${attestedRps.toFixed(0)} req/s, the string-only path ${stringOnlyForAttested.toFixed(0)} req/s; against verifySignatures from the caches ${attestedAgainstVerified.toFixed(0)} and ${verifiedForAttested.toFixed(0)} req/s`,
    );

    const registryPid = fixture.registry.pid;
    const head = {
      protocol: 'http' as const,
      method: 'HEAD' as const,
      path: fixture.tagHead.path,
      headers: { accept: fixture.tagHead.accept },
    };
    const cold = async (
      server: RunningServer | undefined,
      target: BenchPayload | typeof head,
      port: number,
    ) =>
      PINNED
        ? pinnedTo([registryPid, ...(server ? [server.process.pid!] : [])], () =>
            atFixedRatePinned(port, target, COLD_RATE, SECONDS, scratch),
          )
        : atFixedRate(port, target, COLD_RATE, SECONDS);
    const registryHead = await cold(undefined, head, fixture.tagHead.port);
    const mutateCold = await cold(pinCold, payloads.mutate, pinCold.port);
    const verifyCold = await cold(verifyColdServer, payloads.verified, verifyColdServer.port);
    let before: RegistryFigures['before'];
    if (verifyBefore && verifyColdBefore) {
      const {
        a: verifiedBefore,
        b: verifiedAfter,
        ratio: afterOverBefore,
      } = await pairedSaturation(
        { port: verifyBefore.port, payload: payloads.verified },
        { port: verify.port, payload: payloads.verified },
        scratch,
      );
      const verifyColdBeforeResult = await cold(verifyColdBefore, payloads.verified, verifyColdBefore.port);
      before = {
        verified: {
          before: verifiedBefore,
          after: verifiedAfter,
          afterOverBefore,
        },
        verifyCold: verifyColdBeforeResult,
        verifyColdAfterOverBeforeP99: verifyCold.p99Ms / verifyColdBeforeResult.p99Ms,
      };
      log(
        `  before the change: verifySignatures from the caches ${verifiedBefore.toFixed(0)} req/s against ${verifiedAfter.toFixed(0)} after; caches off p99 ${verifyColdBeforeResult.p99Ms.toFixed(2)} ms (p50 ${verifyColdBeforeResult.p50Ms.toFixed(2)}) against ${verifyCold.p99Ms.toFixed(2)} ms (p50 ${verifyCold.p50Ms.toFixed(2)}) after`,
      );
    }
    // Last: it stops the registry.
    const outage = await measureOutage(fixture, verify, verifyLedger, scratch);
    const p99 = (r: FixedRateResult): string =>
      `p99 ${r.p99Ms.toFixed(2)} ms (p50 ${r.p50Ms.toFixed(2)}, ${r.failed} failed)`;
    log(
      `  registry stopped, at ${COLD_RATE}/s: verdict cache hit ${p99(outage.cacheHit)}; verification ledger ${p99(outage.ledger)}`,
    );
    log(
      `  at ${COLD_RATE}/s: registry HEAD ${p99(registryHead)}; /mutate, tag cache off ${p99(mutateCold)}; verifySignatures, caches off ${p99(verifyCold)}`,
    );

    return {
      coldRate: COLD_RATE,
      mutate: { requestsPerSecond: mutateRps, validateSamePod, ratio: mutateRatio },
      verified: { requestsPerSecond: verifiedRps, stringOnly, ratio: verifiedRatio },
      attested: {
        requestsPerSecond: attestedRps,
        stringOnly: stringOnlyForAttested,
        ratio: attestedRatio,
        verified: verifiedForAttested,
        overVerified: attestedOverVerified,
      },
      registryHead,
      mutateCold,
      verifyCold,
      mutateColdOverHeadP99: mutateCold.p99Ms / registryHead.p99Ms,
      verifyColdOverHeadP99: verifyCold.p99Ms / registryHead.p99Ms,
      outage,
      ...(before ? { before } : {}),
    };
  } finally {
    servers.forEach((server) => server.process.kill('SIGTERM'));
    await fixture?.stop();
  }
}

const ratio = (ours: number, baseline: number): number => (baseline > 0 ? ours / baseline : NaN);

async function main(): Promise<void> {
  const scratch = mkdtempSync(join(tmpdir(), 'bouncer-bench-'));
  const { certPath, keyPath } = await writeBenchCertificate(scratch);
  const generator = loadGenerator();
  log(
    `kube-image-bouncer bench: ${cpus().length} cores, node ${process.version}, load by ${generator}, ${SECONDS} s per run`,
  );

  const bouncer = async (
    name: string,
    workers: number,
    policy?: string,
    dist = 'dist',
  ): Promise<RunningServer> => {
    const port = await freePort();
    const args = bouncerServeArgs({ dist, certPath, keyPath, port, workers, policy });
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
  const atStart = readCpuTimes();
  const wanted = (name: string): boolean => ONLY_SERVERS === undefined || ONLY_SERVERS.includes(name);
  const servers: RunningServer[] = [];
  if (wanted('baseline')) servers.push(await reference('baseline', 'baseline-server.js'));
  if (wanted('express')) servers.push(await reference('express', 'express-floor-server.js'));
  if (wanted('nest')) servers.push(await reference('nest', 'nest-floor-server.js'));
  if (BEFORE_DIST) servers.push(await bouncer('before', 1, undefined, BEFORE_DIST));
  if (wanted('bouncer')) servers.push(await bouncer('bouncer', 1));
  const payloads = benchPayloads();
  const results: {
    payload: string;
    number: number;
    sizeBytes: number;
    figures: Record<string, ServerFigures>;
  }[] = [];
  try {
    for (const [index, payload] of payloads.entries()) {
      if (SKIP.has('payloads')) break;
      if (ONLY_PAYLOADS !== undefined && !ONLY_PAYLOADS.includes(index + 1)) continue;
      log(`${payload.name} (${(payload.body.length / 1024).toFixed(1)} KiB)`);
      const figures: Record<string, ServerFigures> = {};
      for (const server of servers) figures[server.name] = await measure(server, payload, scratch);
      results.push({ payload: payload.name, number: index + 1, sizeBytes: payload.body.length, figures });
    }
  } finally {
    servers.forEach((server) => server.process.kill('SIGTERM'));
  }

  const afterPayloads = readCpuTimes();

  // Scaling with cluster workers, on the two most common review shapes.
  const scaling: { payload: string; workers: number; requestsPerSecond: number }[] = [];
  for (const workers of SKIP.has('scaling') ? [] : [1, 2]) {
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

  const beforeRegistry = readCpuTimes();
  const registry = SKIP.has('registry')
    ? undefined
    : await measureRegistryPaths(bouncer, scratch, BEFORE_DIST);
  const afterRegistry = readCpuTimes();
  const steal = {
    wholeRun: stealPercent(atStart, afterRegistry),
    payloads: SKIP.has('payloads') ? undefined : stealPercent(atStart, afterPayloads),
    registry: registry ? stealPercent(beforeRegistry, afterRegistry) : undefined,
  };
  log(
    `steal time (the host's share of this VM's CPU, /proc/stat): ${steal.wholeRun ?? '?'}% over the run; payloads ${steal.payloads ?? '-'}%, registry part ${steal.registry ?? '-'}%`,
  );

  const decision = SKIP.has('decision') ? undefined : await measureDecisionCost(payloads[2].body);
  if (decision)
    log(
      `decision cost, Pod AdmissionReview: ${decision.decisionOnlyUs.toFixed(1)} us (${decision.perReviewUs.toFixed(1)} us with JSON parse and reply)`,
    );

  const rps = (r: (typeof results)[number], server: string): number =>
    r.figures[server]?.saturation.requestsPerSecond ?? NaN;
  const payloadFigures = results.map((r) => ({
    ...r,
    throughputRatio: ratio(rps(r, 'bouncer'), rps(r, 'baseline')),
    nestRatio: ratio(rps(r, 'bouncer'), rps(r, 'nest')),
    ...(BEFORE_DIST ? { afterOverBefore: ratio(rps(r, 'bouncer'), rps(r, 'before')) } : {}),
  }));
  const of = (numbers: number[]) => payloadFigures.filter((r) => numbers.includes(r.number));
  const min = (values: number[]): number => (values.length > 0 ? Math.min(...values) : NaN);
  const max = (values: number[]): number => (values.length > 0 ? Math.max(...values) : NaN);
  const bouncerFigures = (numbers: number[]) =>
    of(numbers).flatMap((r) => (r.figures.bouncer ? [r.figures.bouncer] : []));
  const summary = {
    throughput_ratio_min: min(payloadFigures.map((r) => r.throughputRatio)),
    nest_ratio_min_payloads_1_3: min(of([1, 2, 3]).map((r) => r.nestRatio)),
    nest_ratio_min_payloads_4_5: min(of([4, 5]).map((r) => r.nestRatio)),
    nest_ratio_payload_5: min(of([5]).map((r) => r.nestRatio)),
    // The bouncer's p99 over the floor's, each at the same fixed rate pinned to the same core.
    p99_at_1000rps_pinned_over_nest_max_payloads_1_3: max(
      of([1, 2, 3]).map((r) =>
        ratio(
          r.figures.bouncer?.pinnedFixedRate?.p99Ms ?? NaN,
          r.figures.nest?.pinnedFixedRate?.p99Ms ?? NaN,
        ),
      ),
    ),
    p99_ms_at_1000rps_pinned_max_payloads_1_4: max(
      bouncerFigures([1, 2, 3, 4]).map((f) => f.pinnedFixedRate?.p99Ms ?? NaN),
    ),
    p99_ms_at_1000rps_unpinned_max_payloads_1_4: max(
      bouncerFigures([1, 2, 3, 4]).map((f) => f.fixedRate.p99Ms),
    ),
    rss_mb_max_payloads_1_4: max(bouncerFigures([1, 2, 3, 4]).map((f) => f.rssMb)),
    rss_mb_after_payload_5: max(bouncerFigures([5]).map((f) => f.rssMb)),
    ...(registry
      ? {
          mutate_cache_hit_over_validate: registry.mutate.ratio,
          verified_cache_hit_over_string_only: registry.verified.ratio,
          attested_two_conditions_cache_hit_over_string_only: registry.attested.ratio,
          attested_two_conditions_over_verified_cache_hit: registry.attested.overVerified,
          registry_head_p99_ms: registry.registryHead.p99Ms,
          mutate_cold_p99_ms: registry.mutateCold.p99Ms,
          verify_cold_p99_ms: registry.verifyCold.p99Ms,
          outage_cache_hit_p99_ms: registry.outage.cacheHit.p99Ms,
          outage_ledger_p99_ms: registry.outage.ledger.p99Ms,
        }
      : {}),
    ...(decision ? { decision_us_pod: decision.decisionOnlyUs } : {}),
  };
  // A part of a run leaves some figures unmeasured (NaN): their targets are left out, not missed.
  const checks: [target: string, figure: number, met: (figure: number) => boolean][] = [
    ['bouncer / Nest on Express >= 0.9, payloads 1-3', summary.nest_ratio_min_payloads_1_3, (f) => f >= 0.9],
    [
      'bouncer / Nest on Express >= 0.95, payloads 4-5',
      summary.nest_ratio_min_payloads_4_5,
      (f) => f >= 0.95,
    ],
    [
      'bouncer / Nest on Express >= 0.9 on the 100-container review',
      summary.nest_ratio_payload_5,
      (f) => f >= 0.9,
    ],
    [
      'p99 at 1,000/s pinned <= 2 x Nest on Express p99, payloads 1-3',
      summary.p99_at_1000rps_pinned_over_nest_max_payloads_1_3,
      (f) => f <= 2,
    ],
    [
      'p99 <= 2 ms at 1,000/s pinned, payloads 1-4',
      summary.p99_ms_at_1000rps_pinned_max_payloads_1_4,
      (f) => f <= 2,
    ],
    [
      'RSS per worker <= 120 MB after the runs, payloads 1-4',
      summary.rss_mb_max_payloads_1_4,
      (f) => f <= 120,
    ],
    [
      'registry cache-hit paths >= 0.8 of the string-only path',
      registry ? Math.min(registry.mutate.ratio, registry.verified.ratio, registry.attested.ratio) : NaN,
      (f) => f >= 0.8,
    ],
  ];
  const targets = Object.fromEntries(
    checks
      .filter(([, figure]) => !Number.isNaN(figure))
      .map(([target, figure, met]) => [target, met(figure)]),
  );
  const report = {
    measuredAt: new Date().toISOString(),
    machine: {
      cores: cpus().length,
      cpu: cpus()[0]?.model,
      node: process.version,
      loadAverageAtEnd: loadavg().map((l) => Number(l.toFixed(2))),
      stealPercent: steal,
    },
    loadGenerator: generator,
    secondsPerRun: SECONDS,
    fixedRate: FIXED_RATE,
    pinnedCores: PINNED ? PINNED_CORES : undefined,
    payloads: payloadFigures,
    scaling,
    ...(registry ? { registry } : {}),
    ...(decision ? { decisionCostUs: decision } : {}),
    summary,
    targets,
  };
  const out = join(ROOT, 'bench', PARTIAL ? 'results.partial.json' : 'results.json');
  // `npm run bench:apiserver` writes the apiserver key: a rewrite of the rest of the file keeps it.
  let previous: string | undefined;
  try {
    previous = readFileSync(join(ROOT, 'bench', 'results.json'), 'utf8');
  } catch {
    previous = undefined;
  }
  const apiserver = apiserverFiguresOf(previous);
  writeFileSync(out, `${JSON.stringify({ ...report, ...(apiserver ? { apiserver } : {}) }, null, 2)}\n`);
  if (!PARTIAL) writeBenchCharts(report.payloads, FIXED_RATE);
  for (const [target, met] of Object.entries(targets)) log(`${met ? 'met   ' : 'missed'} ${target}`);
  process.stdout.write(`${JSON.stringify(summary)}\n`);
}

let finished = false;
main().then(
  () => (finished = true),
  (error: unknown) => {
    process.stderr.write(
      `bench failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
    );
    process.exit(1);
  },
);
// An await on something that can never happen empties the event loop, and Node would exit 0 with
// nothing written: a run that ends so has failed.
process.on('beforeExit', () => {
  if (finished) return;
  process.stderr.write('bench failed: the event loop emptied before the run finished\n');
  process.exit(1);
});
