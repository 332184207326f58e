import { ChildProcess, spawn } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readFileSync } from 'node:fs';
import { get as httpGet } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { BOUNCER_BIN, freePort, loopbackListenerArgs } from '../../support/bouncer-process';
import { residentBytesByProcess, residentBytesOfTree } from '../../support/process-memory';
import { Sample, parsePrometheusText, sampleValue } from '../../support/prometheus-text';
import { TestPki, createTestPki } from '../../support/test-pki';

/**
 * The built CLI as a process, the way it is deployed: `node dist/main.js` with mutual TLS, a health
 * port and JSON logs at info level. Its output goes to a file rather than into this process's memory,
 * since a soak logs hundreds of thousands of lines. Tests see only what a user sees: ports, the log,
 * /readyz, /metrics, its exit status and its memory.
 */
export interface BouncerUnderTest {
  readonly child: ChildProcess;
  readonly port: number;
  readonly healthPort: number;
  readonly logPath: string;
  /** Resolves with the exit code (null when killed by a signal) once the process has exited. */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  readonly running: () => boolean;
  readonly log: () => string;
  /** Resident memory of the process and every process it started (workers, in cluster mode). */
  readonly rssBytes: () => number;
  /** The same, by process id. */
  readonly rssBytesByProcess: () => Map<number, number>;
  readonly metrics: () => Promise<Sample[]>;
  readonly metric: (name: string, labels?: Record<string, string>) => Promise<number>;
  readonly readyz: () => Promise<{ status: number; body: Record<string, unknown> }>;
  /** What each worker serves and enforces, from the primary's /readyz. */
  readonly workers: () => Promise<WorkerState[]>;
  /** SIGTERM, then the exit; SIGKILL if it has not exited after 20 s. */
  readonly stop: () => Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** One worker's entry in the cluster primary's /readyz. */
export interface WorkerState {
  readonly pid: number;
  readonly ready: boolean;
  readonly fingerprint256?: string;
  readonly notAfter?: string;
  readonly policyRevision?: string;
}

/**
 * Two workers unless a spec says otherwise, whatever the machine's core count: the cluster is how
 * it is deployed on a 2-core node, and what a fault must reach in every worker.
 */
export const WORKERS = 2;

export interface BouncerOptions {
  readonly pki: TestPki;
  /** Defaults to the test PKI's server pair. */
  readonly certificate?: { readonly certPath: string; readonly keyPath: string };
  /** Require client certificates from the test CA (the default, as the apiserver is configured). */
  readonly mutualTls?: boolean;
  readonly policyPath?: string;
  readonly extraArgs?: readonly string[];
}

/** GET on the plain-HTTP health port. */
export function healthGet(port: number, path: string): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const request = httpGet({ host: '127.0.0.1', port, path, agent: false }, (response) => {
      let text = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => (text += chunk));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, text }));
      response.on('error', reject);
    });
    request.on('error', reject);
    request.setTimeout(10_000, () => request.destroy(new Error(`GET ${path} timed out`)));
  });
}

export async function startBouncer(options: BouncerOptions): Promise<BouncerUnderTest> {
  const { pki } = options;
  const [port, healthPort] = [await freePort(), await freePort()];
  const logPath = join(mkdtempSync(join(tmpdir(), 'bouncer-robust-')), 'bouncer.log');
  const logFd = openSync(logPath, 'a');
  const args = [
    BOUNCER_BIN,
    ...loopbackListenerArgs(port, healthPort),
    '--cert',
    options.certificate?.certPath ?? pki.paths.serverCert,
    '--key',
    options.certificate?.keyPath ?? pki.paths.serverKey,
    ...(options.mutualTls === false ? [] : ['--client-ca', pki.paths.caCert]),
    ...(options.policyPath ? ['--policy', options.policyPath] : []),
    '--workers',
    String(WORKERS),
    ...(options.extraArgs ?? []),
  ];
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('BOUNCER_')));
  const child = spawn(process.execPath, args, { env, stdio: ['ignore', logFd, logFd] });
  closeSync(logFd);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  let hasExited = false;
  void exited.then(() => (hasExited = true));
  const log = (): string => readFileSync(logPath, 'utf8');

  const metrics = async (): Promise<Sample[]> => {
    const { status, text } = await healthGet(healthPort, '/metrics');
    if (status !== 200) throw new Error(`GET /metrics answered ${status}`);
    return parsePrometheusText(text);
  };
  const bouncer: BouncerUnderTest = {
    child,
    port,
    healthPort,
    logPath,
    exited,
    running: () => !hasExited,
    log,
    rssBytes: () => residentBytesOfTree(child.pid!),
    rssBytesByProcess: () => residentBytesByProcess(child.pid!),
    metrics,
    metric: async (name, labels = {}) => sampleValue(await metrics(), name, labels) ?? 0,
    readyz: async () => {
      const { status, text } = await healthGet(healthPort, '/readyz');
      return { status, body: JSON.parse(text) as Record<string, unknown> };
    },
    workers: async () => {
      const { text } = await healthGet(healthPort, '/readyz');
      return (JSON.parse(text) as { workers?: WorkerState[] }).workers ?? [];
    },
    stop: async () => {
      if (!hasExited) child.kill('SIGTERM');
      const killer = setTimeout(() => child.kill('SIGKILL'), 20_000);
      const result = await exited;
      clearTimeout(killer);
      return result;
    },
  };

  const deadline = Date.now() + 30_000;
  for (;;) {
    if (hasExited) throw new Error(`the bouncer exited during start:\n${log()}`);
    try {
      if ((await healthGet(healthPort, '/readyz')).status === 200) return bouncer;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      await bouncer.stop();
      throw new Error(`the bouncer was not ready within 30 s:\n${log()}`);
    }
    await delay(100);
  }
}

/**
 * For a spec with one bouncer: a fresh test PKI and a bouncer started before its tests and stopped
 * after them. Read `pki` and `bouncer` inside a test, once beforeAll has run.
 */
export function bouncerForSpec(options: Omit<BouncerOptions, 'pki'> = {}): {
  readonly pki: TestPki;
  readonly bouncer: BouncerUnderTest;
} {
  const started: { pki?: TestPki; bouncer?: BouncerUnderTest } = {};
  beforeAll(async () => {
    started.pki = await createTestPki();
    started.bouncer = await startBouncer({ ...options, pki: started.pki });
  });
  afterAll(() => started.bouncer?.stop());
  return {
    get pki() {
      if (!started.pki) throw new Error('the test PKI is made in beforeAll');
      return started.pki;
    },
    get bouncer() {
      if (!started.bouncer) throw new Error('the bouncer is started in beforeAll');
      return started.bouncer;
    },
  };
}
