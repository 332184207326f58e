/**
 * `npm run bench:apiserver`: admission latency as users meet it, through the real kube-apiserver the
 * conformance tier builds. Concurrent clients create Pods with `?dryRun=All` (admission runs in full,
 * nothing is stored, no node is needed) for a fixed time after a warm-up, through an apiserver
 * whose webhook plugins are off (the floor) and, right after, through one on the same etcd that
 * calls the bouncer as `kube-image-bouncer serve` starts it, registered with the webhook
 * configurations `setup` writes. Writes the `apiserver` key of bench/results.json,
 * leaving the other keys as they are.
 *
 *   BENCH_SECONDS=10                 measured seconds per case and client level
 *   BENCH_WARMUP_SECONDS=3           unmeasured seconds before each
 *   BENCH_APISERVER_CLIENTS=10,50,200
 *   BENCH_APISERVER_CASES=validating,...  only these cases; writes nothing
 *   BENCH_APISERVER_COLD_DIGESTS=150 distinct signed digests the cold case cycles through
 */
import 'reflect-metadata';
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { freePort } from '../test/support/bouncer-process';
import { eventually } from '../test/support/eventually';
import { BouncerSetup } from '../test/k8s/support/bouncer-setup';
import { ApiServer, ControlPlane } from '../test/k8s/support/control-plane';
import { Bouncer } from '../test/k8s/support/image-admission-cluster';
import { PID_FILE, recordPid } from '../test/k8s/support/local-process';
import { VALIDATING_WEBHOOK_NAME } from '../src/cli/apiserver-files';
import { Cosign } from '../test/registry/support/cosign';
import { Crane, LocalRegistry, startRegistry } from '../test/registry/support/local-registry';
import {
  APISERVER_CASES,
  ApiserverCase,
  BouncerAdds,
  CaseFigures,
  apiserverTargets,
  bouncerAdds,
  caseFigures,
  withApiserverFigures,
} from './apiserver-figures';
import {
  Answer,
  PodLoad,
  PodTarget,
  createOnePod,
  createPods,
  createdImage,
  describeRefusal,
} from './apiserver-load';
import { ALLOW_ALL_WARNING } from './allow-all-webhook';
import { cpuMsPerPod, cpuSecondsOfTrees, latestPids } from './process-cpu';
import { listSetting, numberListSetting, numberSetting, runSeconds } from './settings';

const ROOT = join(__dirname, '..', '..');
const { seconds: SECONDS, warmupSeconds: WARMUP_SECONDS } = runSeconds({ seconds: 10, warmupSeconds: 3 });
const CLIENT_LEVELS = numberListSetting('BENCH_APISERVER_CLIENTS') ?? [10, 50, 200];
const ONLY_CASES = listSetting('BENCH_APISERVER_CASES');
const COLD_DIGESTS = numberSetting('BENCH_APISERVER_COLD_DIGESTS', 150);
const NAMESPACE = 'bench';
/** What the bouncer's warning says of an image the ledger admitted (src/policy/policy-decision.ts). */
const LEDGER_WARNING = 'admitted from the verification ledger';

const FLOOR_DESCRIPTION =
  'the same kube-apiserver on the same etcd, ValidatingAdmissionWebhook and MutatingAdmissionWebhook disabled, measured just before each case';
const CASE_DESCRIPTIONS: Record<ApiserverCase, string> = {
  allowAllWebhook:
    'the same validating webhook configuration, answered by a bare node:https server that allows every review (bench/allow-all-webhook.ts): what calling any webhook costs here',
  validating: 'the validating webhook, default policy (deny latest)',
  pinning: 'validating and mutating webhooks, pinDigests: true, image by tag from the local registry',
  verifyWarm: 'verifySignatures (cosign key), image by tag from the local registry, warm caches',
  verifyCold: `verifySignatures, caches off (registryCache TTLs 0), registryTimeoutSeconds 4, ${COLD_DIGESTS} signed digests cycled`,
  verifyOutage:
    'verifySignatures during a registry outage (registry stopped), verification ledger on, image by the digest verified before',
};

const log = (line: string): void => void process.stderr.write(`[bench:apiserver] ${line}\n`);

function writePolicy(dir: string, name: string, spec: readonly string[]): string {
  const path = join(dir, `${name}.yaml`);
  writeFileSync(
    path,
    [
      'apiVersion: kube-image-bouncer.io/v1alpha1',
      'kind: ImagePolicy',
      `metadata: {name: bench-apiserver-${name}}`,
      'spec:',
      ...spec.map((line) => `  ${line}`),
      '',
    ].join('\n'),
  );
  return path;
}

interface Images {
  /** Pushed by crane, unsigned: the default policy and pinning. */
  readonly app: string;
  /** Pushed by crane and signed by cosign, by tag. */
  readonly signed: string;
  readonly signedByDigest: string;
  /** The same image with distinct annotations, each its own digest and each signed: the cold case. */
  readonly cold: readonly string[];
}

/**
 * The images the cases need, in the local registry. Distinct digests are made cheaply by pushing the
 * signed image's manifest again with an annotation that differs (same blobs, another digest); cosign
 * then signs them all in one run, which still costs it about a quarter of a second of CPU each.
 */
async function pushImages(registry: LocalRegistry, cosign: Cosign): Promise<Images> {
  const crane = new Crane();
  const app = `${registry.host}/bench/app:v1`;
  const signed = `${registry.host}/bench/signed:v1`;
  await crane.push(app, 'bench app');
  const signedDigest = await crane.push(signed, 'bench signed');
  const signedByDigest = `${registry.host}/bench/signed@${signedDigest}`;
  await cosign.generateKeyPair('bench');

  const accept =
    'application/vnd.docker.distribution.manifest.v2+json, application/vnd.oci.image.manifest.v1+json';
  const original = await fetch(`http://${registry.host}/v2/bench/signed/manifests/${signedDigest}`, {
    headers: { Accept: accept },
  });
  if (!original.ok) throw new Error(`could not read back ${signedByDigest}: ${original.status}`);
  const mediaType =
    original.headers.get('content-type') ?? 'application/vnd.docker.distribution.manifest.v2+json';
  const manifest = (await original.json()) as Record<string, unknown>;
  // A repository of its own, holding the signed image's blobs: a manifest whose blobs it lacks is refused.
  await crane.copy(signedByDigest, `${registry.host}/bench/cold:base`);
  const cold: string[] = [];
  for (let n = 0; n < COLD_DIGESTS; n++) {
    const body = JSON.stringify({
      ...manifest,
      annotations: { 'bench.kube-image-bouncer.io/copy': String(n) },
    });
    const digest = `sha256:${createHash('sha256').update(body).digest('hex')}`;
    const put = await fetch(`http://${registry.host}/v2/bench/cold/manifests/${digest}`, {
      method: 'PUT',
      body,
      headers: { 'Content-Type': mediaType },
    });
    if (put.status !== 201) throw new Error(`could not push a cold copy: ${put.status} ${await put.text()}`);
    cold.push(`${registry.host}/bench/cold@${digest}`);
  }
  log(`signing ${cold.length + 1} digests with cosign`);
  await cosign.sign([signedByDigest, ...cold], 'bench');
  return { app, signed, signedByDigest, cold };
}

/** The bench's namespace, with the ServiceAccount the controller-manager would make (it is not run: one process less). */
async function createNamespace(apiServer: ApiServer): Promise<void> {
  for (const manifest of [
    { apiVersion: 'v1', kind: 'Namespace', metadata: { name: NAMESPACE } },
    { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'default', namespace: NAMESPACE } },
  ]) {
    const created = await apiServer.kubectl(['create', '-f', '-'], { stdin: JSON.stringify(manifest) });
    if (created.code !== 0) throw new Error(`could not create ${manifest.kind}: ${created.stderr}`);
  }
}

function podTarget(apiServer: ApiServer): PodTarget {
  const kubeconfig = JSON.parse(readFileSync(apiServer.kubeconfig, 'utf8')) as {
    clusters: { cluster: { 'certificate-authority': string } }[];
    users: { user: { token: string } }[];
  };
  return {
    port: apiServer.port,
    caPem: readFileSync(kubeconfig.clusters[0].cluster['certificate-authority'], 'utf8'),
    token: kubeconfig.users[0].user.token,
    namespace: NAMESPACE,
  };
}

/**
 * bench/allow-all-webhook.ts on the bouncer's port with its serving certificate, so that the webhook
 * configuration `setup` wrote reaches it; stopped before the bouncer starts there.
 */
async function startAllowAllWebhook(
  runDir: string,
  setup: BouncerSetup,
  port: number,
): Promise<{ stop: () => Promise<void> }> {
  const child = spawn(
    process.execPath,
    [
      join(__dirname, 'allow-all-webhook.js'),
      setup.files.serverCertificate,
      setup.files.serverKey,
      String(port),
    ],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  recordPid(runDir, 'allow-all-webhook', child.pid);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  await new Promise<void>((resolve, reject) => {
    child.stdout.on('data', (chunk: Buffer) => {
      if (chunk.toString().includes('ready')) resolve();
    });
    void exited.then(() => reject(new Error('the allow-all webhook exited before it was ready')));
  });
  return {
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
}

/** Fails the run before timing anything if a pod of `image` is not admitted (a bench that times denials is wrong). */
async function expectAdmitted(target: PodTarget, image: string, what: string): Promise<Answer> {
  const answer = await createOnePod(target, image);
  if (answer.status !== 201)
    throw new Error(`${what}: a pod of ${image} was not admitted: ${describeRefusal(answer)}`);
  return answer;
}

interface Run {
  readonly cases: Partial<Record<ApiserverCase, Record<string, CaseFigures>>>;
  /** The floor measured just before each case, at each client level. */
  readonly floors: Partial<Record<ApiserverCase, Record<string, CaseFigures>>>;
  readonly errorSamples: Partial<Record<string, Record<string, string[]>>>;
}

/** CPU seconds so far, by process: the apiserver a target names, etcd, the bouncer, the registry, this process. */
type CpuReading = () => Record<string, number>;

/** A target and the apiserver process that serves it, named as the run directory's pid file names it. */
interface MeasuredTarget {
  readonly target: PodTarget;
  readonly cpu: CpuReading;
}

async function measureOne(
  run: Run,
  label: string,
  { target, cpu }: MeasuredTarget,
  load: PodLoad,
): Promise<CaseFigures> {
  let atStart = cpu();
  const result = await createPods(target, { ...load, onMeasuring: () => (atStart = cpu()) });
  const atEnd = cpu();
  const figures: CaseFigures = {
    ...caseFigures(load.clients, result.latenciesMs, result.errors, result.seconds),
    cpuMsPerPod: cpuMsPerPod(atStart, atEnd, result.latenciesMs.length),
  };
  if (result.errorSamples.length > 0)
    (run.errorSamples[label] ??= {})[String(load.clients)] = result.errorSamples;
  log(
    `${label.padEnd(18)} ${String(load.clients).padStart(3)} clients: p50 ${figures.p50Ms} ms, p95 ${figures.p95Ms} ms, ` +
      `p99 ${figures.p99Ms} ms, ${figures.throughputPerSecond}/s, ${figures.errors} errors` +
      `; CPU ms per pod ${Object.entries(figures.cpuMsPerPod ?? {})
        .map(([name, ms]) => `${name} ${ms}`)
        .join(', ')}` +
      (result.errorSamples.length > 0 ? ` (${result.errorSamples[0]})` : ''),
  );
  return figures;
}

/**
 * At each client level, the floor apiserver and then the one with the webhooks, back to back: on a
 * shared machine the floor measured minutes earlier is no floor (it moved by half between runs).
 */
async function measure(
  run: Run,
  targets: { readonly floor: MeasuredTarget; readonly bouncer: MeasuredTarget },
  name: ApiserverCase,
  load: Omit<PodLoad, 'clients' | 'warmupSeconds' | 'seconds'>,
): Promise<void> {
  for (const clients of CLIENT_LEVELS) {
    const window = { clients, warmupSeconds: WARMUP_SECONDS, seconds: SECONDS };
    (run.floors[name] ??= {})[String(clients)] = await measureOne(run, `${name} floor`, targets.floor, {
      image: load.image,
      ...window,
    });
    (run.cases[name] ??= {})[String(clients)] = await measureOne(run, name, targets.bouncer, {
      ...load,
      ...window,
    });
  }
}

const wanted = (name: ApiserverCase): boolean => !ONLY_CASES || ONLY_CASES.includes(name);

async function main(): Promise<void> {
  const loadAverageAtStart = loadavg().map((l) => Number(l.toFixed(2)));
  const cleanups: (() => Promise<unknown>)[] = [];
  const cleanUp = async (): Promise<void> => {
    for (const step of cleanups.splice(0).reverse())
      await step().catch((error: unknown) => log(`cleanup: ${String(error)}`));
  };
  // Ctrl-C or a runner's SIGTERM: stop every process this run started before exiting.
  for (const signal of ['SIGINT', 'SIGTERM'] as const)
    process.once(signal, () => void cleanUp().finally(() => process.exit(130)));

  try {
    log('starting etcd and building (or reusing) the control plane');
    const plane = await ControlPlane.start();
    cleanups.push(() => plane.stop());
    const registry = await startRegistry();
    recordPid(plane.dir, 'docker-registry', registry.pid);
    // Once only: the outage stops it, and a second stop of a process a signal ended waits for an exit that came.
    let registryStopped: Promise<void> | undefined;
    const stopRegistry = (): Promise<void> => (registryStopped ??= registry.stop());
    cleanups.push(stopRegistry);
    const cosign = new Cosign();
    const images = await pushImages(registry, cosign);

    const policies = join(plane.dir, 'policies');
    mkdirSync(policies);
    const registries = `registries: [{host: ${JSON.stringify(registry.host)}, insecure: true}]`;
    const noLatest = '  - {name: no-latest, disallowedTags: [latest]}';
    const signedByCi = `  - {name: signed-by-ci, verifySignatures: {keys: [${JSON.stringify(join(cosign.dir, 'bench.pub'))}]}}`;
    const policy = {
      pinning: writePolicy(policies, 'pinning', [registries, 'pinDigests: true', 'rules:', noLatest]),
      verifyWarm: writePolicy(policies, 'verify', [registries, 'rules:', noLatest, signedByCi]),
      // The registry budget raised from 3 s to 4 s, still under the webhook's 5 s: at 200 clients on 2
      // cores the bouncer queues, and a review that waits past its budget is denied (fail closed).
      verifyCold: writePolicy(policies, 'verify-cold', [
        registries,
        'registryTimeoutSeconds: 4',
        'registryCache: {tagTtlSeconds: 0, verificationTtlSeconds: 0, verificationFailureTtlSeconds: 0}',
        'rules:',
        noLatest,
        signedByCi,
      ]),
      // No verdict cache: every review in the outage asks the ledger, rather than a verdict cached before it.
      verifyOutage: writePolicy(policies, 'verify-ledger', [
        registries,
        'registryCache: {verificationTtlSeconds: 0}',
        `verificationLedger: {path: ${JSON.stringify(join(plane.dir, 'ledger'))}, admitVerifiedWithin: 24h}`,
        'rules:',
        noLatest,
        signedByCi,
      ]),
    };

    const port = await freePort();
    const setup = await BouncerSetup.generate(plane.dir, port);
    const bouncer = new Bouncer(plane.dir, setup, port, await freePort());
    cleanups.push(() => bouncer.stop());
    // Only the AdmissionReview webhooks: ImagePolicyWebhook would call the bouncer on the floor too.
    const apiServer = await plane.startApiServer(
      'kube-apiserver',
      setup.admission('kube-apiserver', { withoutImagePolicyWebhook: true }),
    );
    const webhookPlugins = ['ValidatingAdmissionWebhook', 'MutatingAdmissionWebhook'];
    const floorAdmission = setup.admission('floor-apiserver', { withoutImagePolicyWebhook: true });
    const floorApiServer = await plane.startApiServer('floor-apiserver', {
      ...floorAdmission,
      enablePlugins: floorAdmission.enablePlugins.filter((plugin) => !webhookPlugins.includes(plugin)),
      disablePlugins: webhookPlugins,
    });
    const version = await apiServer.kubectl(['version', '-o', 'json']);
    const apiserverVersion = (JSON.parse(version.stdout) as { serverVersion?: { gitVersion?: string } })
      .serverVersion?.gitVersion;
    await createNamespace(apiServer);
    const target = podTarget(apiServer);
    const cpuReading =
      (apiserver: string): CpuReading =>
      () => {
        const pids = latestPids(readFileSync(join(plane.dir, PID_FILE), 'utf8'));
        const named = (name: string, recorded: string): [string, number][] => {
          const pid = pids.get(recorded);
          return pid === undefined ? [] : [[name, pid]];
        };
        const trees = cpuSecondsOfTrees(
          new Map([
            ...named('apiserver', apiserver),
            ...named('etcd', 'etcd'),
            ...named('bouncer', 'kube-image-bouncer'),
            ...named('allowAllWebhook', 'allow-all-webhook'),
            ...named('registry', 'docker-registry'),
          ]),
        );
        const own = process.cpuUsage();
        return {
          apiserver: trees.apiserver ?? 0,
          etcd: trees.etcd ?? 0,
          bouncer: trees.bouncer ?? 0,
          allowAllWebhook: trees.allowAllWebhook ?? 0,
          registry: trees.registry ?? 0,
          loadGenerator: (own.user + own.system) / 1e6,
        };
      };
    const targets = {
      floor: { target: podTarget(floorApiServer), cpu: cpuReading('floor-apiserver') },
      bouncer: { target, cpu: cpuReading('kube-apiserver') },
    };
    const run: Run = { cases: {}, floors: {}, errorSamples: {} };
    // The floor apiserver sees the namespace and its ServiceAccount once its informers have.
    await eventually('the floor apiserver to admit', () =>
      expectAdmitted(targets.floor.target, images.app, 'floor'),
    );

    // Registered before anything listens: with failurePolicy Fail, no pod is admitted until one does.
    const validating = await apiServer.kubectl(['create', '-f', setup.files.validatingWebhookConfiguration]);
    if (validating.code !== 0)
      throw new Error(`could not register the validating webhook: ${validating.stderr}`);

    if (wanted('allowAllWebhook')) {
      log(`allowAllWebhook: ${CASE_DESCRIPTIONS.allowAllWebhook}`);
      const allowAll = await startAllowAllWebhook(plane.dir, setup, port);
      cleanups.push(() => allowAll.stop());
      const answeredByIt = (warnings: string): string | undefined =>
        warnings.includes(ALLOW_ALL_WARNING)
          ? undefined
          : `not answered by the allow-all webhook (${warnings || 'no warning'})`;
      await eventually('the allow-all webhook to answer', async () => {
        const wrong = answeredByIt((await expectAdmitted(target, images.app, 'allowAllWebhook')).warnings);
        if (wrong) throw new Error(wrong);
      });
      await measure(run, targets, 'allowAllWebhook', {
        image: () => images.app,
        inspect: (_pod, warnings) => answeredByIt(warnings),
      });
      await allowAll.stop();
    }

    await bouncer.start();
    await eventually('the validating webhook to answer', async () => {
      const answer = await createOnePod(target, 'nginx');
      const refusal = describeRefusal(answer);
      if (!refusal.includes(`webhook "${VALIDATING_WEBHOOK_NAME}"`)) throw new Error(refusal);
    });

    if (wanted('validating')) {
      log(`validating: ${CASE_DESCRIPTIONS.validating}`);
      await expectAdmitted(target, images.app, 'validating');
      await measure(run, targets, 'validating', { image: () => images.app });
    }

    if (wanted('pinning')) {
      log(`pinning: ${CASE_DESCRIPTIONS.pinning}`);
      await bouncer.restart({ policyFile: policy.pinning });
      const mutating = await apiServer.kubectl(['create', '-f', setup.files.mutatingWebhookConfiguration]);
      if (mutating.code !== 0) throw new Error(`could not register the mutating webhook: ${mutating.stderr}`);
      const pinned = (image: string | undefined): boolean => /@sha256:[0-9a-f]{64}$/.test(image ?? '');
      await eventually('the mutating webhook to pin', async () => {
        const image = createdImage(await expectAdmitted(target, images.app, 'pinning'));
        if (!pinned(image)) throw new Error(`not pinned: ${image}`);
      });
      await measure(run, targets, 'pinning', {
        image: () => images.app,
        inspect: (pod) =>
          pinned(pod.spec?.containers?.[0]?.image)
            ? undefined
            : `image ${pod.spec?.containers?.[0]?.image} not pinned`,
      });
      const removed = await apiServer.kubectl([
        'delete',
        'mutatingwebhookconfiguration',
        'kube-image-bouncer',
      ]);
      if (removed.code !== 0) throw new Error(`could not remove the mutating webhook: ${removed.stderr}`);
      await eventually('the mutating webhook to be gone', async () => {
        const image = createdImage(await expectAdmitted(target, images.app, 'after pinning'));
        if (pinned(image)) throw new Error('still pinned');
      });
    }

    if (wanted('verifyWarm')) {
      log(`verifyWarm: ${CASE_DESCRIPTIONS.verifyWarm}`);
      await bouncer.restart({ policyFile: policy.verifyWarm });
      await expectAdmitted(target, images.signed, 'verifyWarm');
      await measure(run, targets, 'verifyWarm', { image: () => images.signed });
    }

    if (wanted('verifyCold')) {
      log(`verifyCold: ${CASE_DESCRIPTIONS.verifyCold}`);
      await bouncer.restart({ policyFile: policy.verifyCold });
      await expectAdmitted(target, images.cold[0], 'verifyCold');
      await measure(run, targets, 'verifyCold', { image: (n) => images.cold[n % images.cold.length] });
    }

    if (wanted('verifyOutage')) {
      log(`verifyOutage: ${CASE_DESCRIPTIONS.verifyOutage}`);
      await bouncer.restart({ policyFile: policy.verifyOutage });
      await expectAdmitted(target, images.signedByDigest, 'verifyOutage, registry up');
      // The ledger records a verdict once it is given; give its write a moment before the registry goes.
      await delay(1_000);
      await stopRegistry();
      // Timed only once the ledger is what admits: its warning names it (a cached verdict would not).
      const fromLedger = (warnings: string): string | undefined =>
        warnings.includes(LEDGER_WARNING) ? undefined : `no ledger warning (${warnings || 'none'})`;
      await eventually('the ledger to admit in the outage', async () => {
        const answer = await expectAdmitted(target, images.signedByDigest, 'verifyOutage, registry stopped');
        const wrong = fromLedger(answer.warnings);
        if (wrong) throw new Error(wrong);
      });
      await measure(run, targets, 'verifyOutage', {
        image: () => images.signedByDigest,
        inspect: (_pod, warnings) => fromLedger(warnings),
      });
    }

    const adds: Partial<Record<ApiserverCase, Record<string, BouncerAdds>>> = {};
    for (const name of APISERVER_CASES) {
      const figures = run.cases[name];
      const floors = run.floors[name];
      if (!figures || !floors) continue;
      adds[name] = Object.fromEntries(
        Object.entries(figures).map(([clients, f]) => [clients, bouncerAdds(f, floors[clients])]),
      );
    }
    const outcomes = apiserverTargets(adds);
    const admittedEverywhere = [run.cases, run.floors].every((byCase) =>
      Object.values(byCase).every((levels) => Object.values(levels).every((f) => f.errors === 0)),
    );
    const report = {
      measuredAt: new Date().toISOString(),
      command: 'npm run bench:apiserver',
      machine: {
        cores: cpus().length,
        cpu: cpus()[0]?.model,
        node: process.version,
        loadAverageAtStart,
        loadAverageAtEnd: loadavg().map((l) => Number(l.toFixed(2))),
        shared:
          'etcd, kube-apiserver, docker-registry, the bouncer and the load generator all run on this machine',
      },
      apiserverVersion,
      secondsPerCase: SECONDS,
      warmupSeconds: WARMUP_SECONDS,
      clientLevels: CLIENT_LEVELS,
      coldDigests: COLD_DIGESTS,
      floor: FLOOR_DESCRIPTION,
      cases: Object.fromEntries(
        APISERVER_CASES.filter((name) => run.cases[name]).map((name) => [
          name,
          {
            description: CASE_DESCRIPTIONS[name],
            byClients: run.cases[name],
            floorByClients: run.floors[name],
          },
        ]),
      ),
      bouncerAdds: adds,
      ...(Object.keys(run.errorSamples).length > 0 ? { errorSamples: run.errorSamples } : {}),
      targets: Object.fromEntries(outcomes.map((t) => [t.target, { addedP99Ms: t.addedP99Ms, met: t.met }])),
    };

    if (ONLY_CASES) {
      log('BENCH_APISERVER_CASES set: a partial run, bench/results.json left as it was');
      process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
    } else {
      const out = join(ROOT, 'bench', 'results.json');
      let existing: string | undefined;
      try {
        existing = readFileSync(out, 'utf8');
      } catch {
        existing = undefined;
      }
      writeFileSync(out, withApiserverFigures(existing, report));
      log(`wrote the apiserver key of ${out}`);
    }
    printTable(run, adds);
    for (const t of outcomes) log(`${t.met ? 'met   ' : 'missed'} ${t.target} (adds ${t.addedP99Ms} ms)`);
    if (!admittedEverywhere) {
      process.exitCode = 1;
      log('some pods were not admitted (errors above): those figures time failures, not admissions');
    }
  } finally {
    await cleanUp();
  }
}

function printTable(run: Run, adds: Partial<Record<ApiserverCase, Record<string, BouncerAdds>>>): void {
  const rows = [
    '| case | clients | p50 ms | p95 ms | p99 ms | pods/s | errors | floor p50 / p99 ms | adds p50 / p99 ms | CPU ms per pod: apiserver, webhook (floor: apiserver) |',
    '|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
  ];
  for (const name of APISERVER_CASES) {
    for (const [clients, f] of Object.entries(run.cases[name] ?? {})) {
      const floor = run.floors[name]?.[clients];
      const added = adds[name]?.[clients];
      rows.push(
        `| ${name} | ${clients} | ${f.p50Ms} | ${f.p95Ms} | ${f.p99Ms} | ${f.throughputPerSecond} | ${f.errors} | ` +
          `${floor ? `${floor.p50Ms} / ${floor.p99Ms}` : '—'} | ${added ? `${added.p50Ms} / ${added.p99Ms}` : '—'} | ` +
          `${f.cpuMsPerPod?.apiserver ?? '—'}, ${f.cpuMsPerPod?.[name === 'allowAllWebhook' ? 'allowAllWebhook' : 'bouncer'] ?? '—'} (${floor?.cpuMsPerPod?.apiserver ?? '—'}) |`,
      );
    }
  }
  process.stdout.write(`${rows.join('\n')}\n`);
}

main().catch((error: unknown) => {
  process.stderr.write(
    `bench:apiserver failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
  );
  process.exitCode = 1;
});
