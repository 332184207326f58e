/**
 * `npm run bench:profile`: where a review's CPU goes. Runs the Nest-on-Express floor and the
 * bouncer (default policy, and a policy whose rule needs the registry, all from warm caches) under
 * the bench's own saturating load with `node --cpu-prof`, then prints CPU microseconds per request
 * by package and the heaviest functions by self time, the bouncer's beside the floor's, so what
 * the bouncer adds above the frameworks can be ranked. Profiles stay in the printed folder, for
 * Chrome DevTools or speedscope.
 *
 *   npm run bench:profile [-- PAYLOAD_INDEX... registry]
 *   BENCH_PROFILE_BEFORE=/worktree/of/the/parent/dist [BENCH_PROFILE_AFTER=/worktree/of/the/cut/dist] \
 *     npm run bench:profile -- registry
 *
 * Default: `0 2 registry`, the 1-image ImageReview, the Pod AdmissionReview and the registry paths.
 * With BENCH_PROFILE_BEFORE, the `dist` folder of another build (the commit before a cut, built in a
 * worktree of its own), each path is profiled on that build and then on BENCH_PROFILE_AFTER's (this
 * build's by default), which is ranked against it instead of against the floor: the before and after
 * of a cut, path by path.
 */
import 'reflect-metadata';
import { ChildProcess, spawn } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readFileSync, readdirSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { freePort } from '../test/support/bouncer-process';
import { bouncerServeArgs, writeBenchCertificate } from './bench-server';
import { PINNED_CORES, pinProcesses, saturate } from './load';
import { BenchPayload, benchPayloads } from './payloads';
import { BenchRegistry, startBenchRegistry } from './registry-fixture';
import { numberSetting, pathSetting } from './settings';

const ROOT = join(__dirname, '..', '..');
const SECONDS = numberSetting('BENCH_SECONDS', 10);
const SETTLE_SECONDS = numberSetting('BENCH_SETTLE_SECONDS', 10);
const PINNED = cpus().length >= 2;
const BEFORE_DIST = pathSetting('BENCH_PROFILE_BEFORE', 'main.js');
const AFTER_DIST = pathSetting('BENCH_PROFILE_AFTER', 'main.js') ?? 'dist';

interface CpuProfileNode {
  readonly id: number;
  readonly callFrame: { functionName: string; url: string; lineNumber: number };
  readonly hitCount?: number;
  readonly children?: number[];
}
interface CpuProfile {
  readonly nodes: CpuProfileNode[];
  readonly startTime: number;
  readonly endTime: number;
  readonly samples: number[];
  readonly timeDeltas: number[];
}

/** Which package, or which of the bouncer's folders, a function belongs to. */
function ownerOf(url: string, functionName: string): string {
  if (url === '') return functionName.startsWith('(') ? functionName : '(native)';
  if (url.startsWith('node:')) return url.replace(/^node:(internal\/)?/, 'node:').split('/')[0];
  const modules = url.lastIndexOf('node_modules/');
  if (modules >= 0) {
    const rest = url.slice(modules + 'node_modules/'.length).split('/');
    return rest[0].startsWith('@') ? `${rest[0]}/${rest[1]}` : rest[0];
  }
  const path = relative(ROOT, url.replace(/^file:\/\//, ''));
  // Any build's `dist`, this one's or BENCH_PROFILE_BEFORE's, so that both name a file alike.
  const parts = path.split('/');
  const built = parts.lastIndexOf('dist');
  return built >= 0 ? `bouncer:${parts[built + 2] ?? parts[built + 1]}` : path;
}

export interface ProfileSummary {
  /** CPU µs per request, by owner, idle excluded. */
  readonly byOwner: Map<string, number>;
  /** CPU µs per request, by function. */
  readonly byFunction: Map<string, number>;
  readonly busyUsPerRequest: number;
}

/** Self time per request of the samples in the profile's last `windowUs`. */
function summarise(profile: CpuProfile, requests: number, windowUs: number): ProfileSummary {
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const parentOf = new Map<number, CpuProfileNode>();
  for (const node of profile.nodes) for (const child of node.children ?? []) parentOf.set(child, node);
  const selfUs = new Map<number, number>();
  const from = profile.endTime - windowUs;
  let at = profile.startTime;
  profile.samples.forEach((id, i) => {
    const delta = profile.timeDeltas[i] ?? 0;
    at += delta;
    if (at >= from) selfUs.set(id, (selfUs.get(id) ?? 0) + delta);
  });
  const byOwner = new Map<string, number>();
  const byFunction = new Map<string, number>();
  const add = (map: Map<string, number>, key: string, us: number): void => {
    map.set(key, (map.get(key) ?? 0) + us / requests);
  };
  let busy = 0;
  for (const [id, us] of selfUs) {
    const { functionName, url, lineNumber } = byId.get(id)!.callFrame;
    if (functionName === '(idle)') continue;
    busy += us;
    add(byOwner, ownerOf(url, functionName), us);
    // A native function is named by its JavaScript caller: `writev` alone says nothing.
    const parent = url === '' ? parentOf.get(id)?.callFrame : undefined;
    const name =
      url !== ''
        ? `${functionName || '(anonymous)'} ${ownerOf(url, functionName)}:${lineNumber + 1}`
        : parent && parent.url !== ''
          ? `[${functionName}] in ${parent.functionName || '(anonymous)'} ${ownerOf(parent.url, parent.functionName)}`
          : functionName;
    add(byFunction, name, us);
  }
  return { byOwner, byFunction, busyUsPerRequest: busy / requests };
}

async function waitForText(path: string, text: string, child: ChildProcess): Promise<void> {
  const deadline = Date.now() + 60_000;
  while (!readFileSync(path, 'utf8').includes(text)) {
    if (child.exitCode !== null || Date.now() > deadline)
      throw new Error(`not ready (exit ${child.exitCode}):\n${readFileSync(path, 'utf8')}`);
    await delay(50);
  }
}

/** One server under `--cpu-prof`, loaded with `payload` for SECONDS after a warm-up; its summary. */
async function profileServer(
  name: string,
  args: (port: number) => string[],
  readyText: string,
  payload: BenchPayload,
  scratch: string,
): Promise<{ summary: ProfileSummary; requestsPerSecond: number; dir: string }> {
  const port = await freePort();
  const dir = mkdtempSync(join(scratch, `${name}-`));
  const logPath = join(dir, 'server.log');
  const logFd = openSync(logPath, 'w');
  const child = spawn(process.execPath, ['--cpu-prof', '--cpu-prof-dir', dir, ...args(port)], {
    cwd: ROOT,
    stdio: ['ignore', logFd, 'inherit'],
    env: { ...process.env, NO_COLOR: '1' },
  });
  closeSync(logFd);
  await waitForText(logPath, readyText, child);
  // As in the bench's pinned run: the load generator on one core, the server on the other.
  if (PINNED) pinProcesses([child.pid!], String(PINNED_CORES.server));
  // V8 takes some 6,000 reviews to settle; the profile is of a server that has.
  await saturate(port, payload, SETTLE_SECONDS, scratch);
  const started = Date.now();
  const { requestsPerSecond } = await saturate(port, payload, SECONDS, scratch);
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  await exited;
  // The profile ends as the process exits: its last stretch, from the loaded run's start, holds the
  // run and the shutdown (a few ms of CPU), and not the boot or the warm-up.
  const windowUs = (Date.now() - started) * 1000;
  const file = readdirSync(dir).find((f) => f.endsWith('.cpuprofile'))!;
  const profile = JSON.parse(readFileSync(join(dir, file), 'utf8')) as CpuProfile;
  return { summary: summarise(profile, requestsPerSecond * SECONDS, windowUs), requestsPerSecond, dir };
}

/**
 * What `ours` spends against `theirs`, by package and by function. Against the floor, what ours spends
 * above it comes first; between two builds of one path (`both ways`), the biggest change either way,
 * so that what a cut saved is ranked beside anything it cost.
 */
function report(
  title: string,
  ours: ProfileSummary,
  theirs: ProfileSummary,
  rank: 'above' | 'both ways' = 'above',
  top = 25,
): void {
  process.stdout.write(
    `\n${title}\n  CPU per request: ${ours.busyUsPerRequest.toFixed(1)} µs, against ${theirs.busyUsPerRequest.toFixed(1)} µs\n`,
  );
  const weight = rank === 'above' ? (change: number): number => change : Math.abs;
  for (const [what, mine, against] of [
    ['by package or folder', ours.byOwner, theirs.byOwner],
    ['by function, self time', ours.byFunction, theirs.byFunction],
  ] as const) {
    process.stdout.write(`  ${what.padEnd(96)}   µs/req  against    above\n`);
    const rows = [...new Set([...mine.keys(), ...against.keys()])]
      .map((key) => ({ key, us: mine.get(key) ?? 0, against: against.get(key) ?? 0 }))
      .sort((a, b) => weight(b.us - b.against) - weight(a.us - a.against));
    for (const row of rows.slice(0, top))
      process.stdout.write(
        `  ${row.key.slice(0, 96).padEnd(96)} ${row.us.toFixed(1).padStart(8)} ${row.against.toFixed(1).padStart(8)} ${(row.us - row.against).toFixed(1).padStart(8)}\n`,
      );
  }
}

const SERVING = 'kube-image-bouncer serving';

/** A path through the registry from warm caches, and the review the string-only path is profiled on beside it. */
interface RegistryPath {
  readonly label: string;
  readonly policy: string;
  readonly payload: BenchPayload;
  readonly stringOnlyPayload: BenchPayload;
}

/** Pinning (/mutate), a verified signature and a verified attestation with two conditions (/validate). */
function registryPaths({ policies, payloads }: BenchRegistry): RegistryPath[] {
  return [
    {
      label: '/mutate, tag cache hit',
      policy: policies.pin,
      payload: payloads.mutate,
      stringOnlyPayload: payloads.verified,
    },
    {
      label: '/validate, verifySignatures, cache hit',
      policy: policies.verify,
      payload: payloads.verified,
      stringOnlyPayload: payloads.verified,
    },
    {
      label: '/validate, verifyAttestations with two conditions, cache hit',
      policy: policies.attested,
      payload: payloads.attested,
      stringOnlyPayload: payloads.attested,
    },
  ];
}

async function withBenchRegistry(
  scratch: string,
  use: (registry: BenchRegistry) => Promise<void>,
): Promise<void> {
  let registry: BenchRegistry | undefined;
  try {
    registry = await startBenchRegistry(scratch);
    await use(registry);
  } finally {
    await registry?.stop();
  }
}

type BouncerArgs = (policy?: string, dist?: string) => (port: number) => string[];

/** Each path against the Nest-on-Express floor, and each registry path against the string-only path. */
async function profileAgainstFloor(
  chosen: readonly string[],
  bouncerArgs: BouncerArgs,
  floorArgs: (port: number) => string[],
  scratch: string,
): Promise<void> {
  const payloads = benchPayloads();
  for (const index of chosen.filter((item) => item !== 'registry')) {
    const payload = payloads[Number(index)];
    const floor = await profileServer('nest', floorArgs, 'ready', payload, scratch);
    const bouncer = await profileServer('bouncer', bouncerArgs(), SERVING, payload, scratch);
    report(
      `${payload.name}: bouncer ${bouncer.requestsPerSecond.toFixed(0)} req/s, Nest on Express ${floor.requestsPerSecond.toFixed(0)} req/s (profiles in ${bouncer.dir}, ${floor.dir})`,
      bouncer.summary,
      floor.summary,
    );
  }
  if (!chosen.includes('registry')) return;
  await withBenchRegistry(scratch, async (registry) => {
    for (const { label, policy, payload, stringOnlyPayload } of registryPaths(registry)) {
      const plain = await profileServer('bouncer-plain', bouncerArgs(), SERVING, stringOnlyPayload, scratch);
      const ours = await profileServer('bouncer-registry', bouncerArgs(policy), SERVING, payload, scratch);
      report(
        `${label}: ${ours.requestsPerSecond.toFixed(0)} req/s; the string-only path on the same pod ${plain.requestsPerSecond.toFixed(0)} req/s (profile in ${ours.dir})`,
        ours.summary,
        plain.summary,
      );
    }
  });
}

/** Each path on the build in `beforeDist`, then on the one in `afterDist`, ranked against the first. */
async function profileBeforeAndAfter(
  beforeDist: string,
  afterDist: string,
  chosen: readonly string[],
  bouncerArgs: BouncerArgs,
  scratch: string,
): Promise<void> {
  const compare = async (label: string, payload: BenchPayload, policy?: string): Promise<void> => {
    const before = await profileServer('before', bouncerArgs(policy, beforeDist), SERVING, payload, scratch);
    const after = await profileServer('after', bouncerArgs(policy, afterDist), SERVING, payload, scratch);
    report(
      `${label}: after (${afterDist}) ${after.requestsPerSecond.toFixed(0)} req/s, before (${beforeDist}) ${before.requestsPerSecond.toFixed(0)} req/s (profiles in ${after.dir}, ${before.dir})`,
      after.summary,
      before.summary,
      'both ways',
    );
  };
  const payloads = benchPayloads();
  for (const index of chosen.filter((item) => item !== 'registry'))
    await compare(payloads[Number(index)].name, payloads[Number(index)]);
  if (!chosen.includes('registry')) return;
  await withBenchRegistry(scratch, async (registry) => {
    for (const { label, policy, payload } of registryPaths(registry)) await compare(label, payload, policy);
  });
}

async function main(): Promise<void> {
  // wrk, started from here, inherits this core.
  if (PINNED) pinProcesses([process.pid], String(PINNED_CORES.client));
  const scratch = mkdtempSync(join(tmpdir(), 'bouncer-profile-'));
  const { certPath, keyPath } = await writeBenchCertificate(scratch);
  const asked = process.argv.slice(2);
  const chosen = asked.length > 0 ? asked : ['0', '2', 'registry'];
  const bouncerArgs: BouncerArgs = (policy, dist) => (port) =>
    bouncerServeArgs({ dist, certPath, keyPath, port, workers: 1, policy });
  const floorArgs = (port: number): string[] => [
    join('.bench-build', 'bench', 'nest-floor-server.js'),
    certPath,
    keyPath,
    String(port),
  ];
  if (BEFORE_DIST === undefined) await profileAgainstFloor(chosen, bouncerArgs, floorArgs, scratch);
  else await profileBeforeAndAfter(BEFORE_DIST, AFTER_DIST, chosen, bouncerArgs, scratch);
}

main().catch((error: unknown) => {
  process.stderr.write(
    `profile failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
  );
  process.exit(1);
});
