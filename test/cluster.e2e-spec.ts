import { X509Certificate } from 'node:crypto';
import { createServer } from 'node:net';
import { writeFileSync } from 'node:fs';
import { request as httpsRequest } from 'node:https';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { connect } from 'node:tls';
import request from 'supertest';
import { issueCertificate } from '../src/tls/certificate-issuer';
import { BouncerProcess, freePort, loopbackListenerArgs, runBouncer } from './support/bouncer-process';
import { WaitingIsPointless, eventually } from './support/eventually';
import { Sample, parsePrometheusText, sampleValue } from './support/prometheus-text';
import { imageReview } from './support/reviews';
import { SecretVolume } from './support/secret-volume';
import { TestPki, createTestPki } from './support/test-pki';

jest.setTimeout(60_000);

const POLICY = (tags: string) =>
  `apiVersion: kube-image-bouncer.io/v1alpha1\nkind: ImagePolicy\nspec:\n  rules:\n    - {name: tags, disallowedTags: [${tags}]}\n`;

describe('cluster mode (--workers 2)', () => {
  let pki: TestPki;
  let bouncer: BouncerProcess;
  let port: number;
  let healthPort: number;
  let dir: string;

  let volume: SecretVolume;

  beforeAll(async () => {
    pki = await createTestPki();
    volume = new SecretVolume();
    dir = volume.dir;
    volume.publish(pki.server.certificatePem, pki.server.privateKeyPem);
    writeFileSync(join(dir, 'policy.yaml'), POLICY('latest'));
    [port, healthPort] = [await freePort(), await freePort()];
    bouncer = runBouncer([
      '--workers',
      '2',
      ...loopbackListenerArgs(port, healthPort),
      '--cert',
      join(dir, 'tls.crt'),
      '--key',
      join(dir, 'tls.key'),
      '--policy',
      join(dir, 'policy.yaml'),
      // What workers leave to the primary to say once, they say at debug: the tests read both.
      '--log-level',
      'debug',
    ]);
    await bouncer.waitFor('kube-image-bouncer serving');
  });
  afterAll(() => bouncer.stop());

  /**
   * Each review on a connection of its own, so the cluster spreads them over its workers. A short
   * client timeout, as the apiserver's webhook timeout would be: a connection lost with a dying
   * worker fails fast instead of hanging the test.
   */
  const reviewOnNewConnection = (image: string): Promise<boolean> =>
    new Promise((resolve, reject) => {
      const body = JSON.stringify(imageReview([image]));
      const req = httpsRequest(
        {
          host: '127.0.0.1',
          port,
          path: '/image_policy',
          method: 'POST',
          agent: false,
          ca: pki.ca.certificatePem,
          timeout: 2_000,
          headers: { 'content-type': 'application/json' },
        },
        (res) => {
          let text = '';
          res.on('data', (chunk: Buffer) => (text += chunk.toString()));
          res.on('end', () =>
            res.statusCode === 200
              ? resolve((JSON.parse(text) as { status: { allowed: boolean } }).status.allowed)
              : reject(new Error(`${res.statusCode} ${text}`)),
          );
        },
      );
      req.on('timeout', () => req.destroy(new Error('timed out')));
      req.on('error', reject);
      req.end(body);
    });
  const fingerprintOfNewConnection = (): Promise<string> =>
    new Promise((resolve, reject) => {
      const socket = connect({ host: '127.0.0.1', port, ca: pki.ca.certificatePem }, () => {
        resolve(new X509Certificate(socket.getPeerCertificate().raw).fingerprint256);
        socket.end();
      });
      socket.once('error', reject);
    });
  const reviewLines = (): { pid: number; images: string[] }[] =>
    bouncer
      .output()
      .split('\n')
      .filter((line) => line.includes('"context":"ReviewAudit"'))
      .map((line) => JSON.parse(line) as { pid: number; images: string[] });
  const health = () => request(`http://127.0.0.1:${healthPort}`);

  interface WorkerState {
    pid: number;
    ready: boolean;
    fingerprint256: string;
    notAfter: string;
    policyRevision: string;
  }
  const workers = async (): Promise<WorkerState[]> =>
    ((await health().get('/readyz')).body as { workers: WorkerState[] }).workers;
  /** Polls /readyz until every worker reports `holds`; the cluster may reach any worker next. */
  const everyWorker = (description: string, holds: (worker: WorkerState) => boolean) =>
    eventually(`every worker to ${description}`, async () => {
      const all = await workers();
      if (all.length !== 2 || !all.every(holds)) throw new Error(JSON.stringify(all));
      return all;
    });

  it('spreads reviews over both workers and sums their metrics exactly', async () => {
    for (let i = 0; i < 20; i++) expect(await reviewOnNewConnection(`cluster-metrics/app:${i}`)).toBe(true);
    const samples = parsePrometheusText((await health().get('/metrics').expect(200)).text);
    expect(
      sampleValue(samples, 'kube_image_bouncer_decisions_total', {
        endpoint: 'image_policy',
        decision: 'allow',
        rule: '',
      }),
    ).toBe(20);
    const pids = new Set(
      reviewLines()
        .filter((l) => l.images[0].startsWith('cluster-metrics/'))
        .map((l) => l.pid),
    );
    expect(pids.size).toBe(2);
  });

  it('lists in /readyz what each worker serves and enforces, and that they agree', async () => {
    const response = await health().get('/readyz').expect(200);
    const revision = response.body.info.policy.revision as string;
    expect(response.body).toMatchObject({ status: 'ok', converged: true });
    const expected: unknown = expect.objectContaining({
      pid: expect.any(Number),
      ready: true,
      fingerprint256: pki.server.fingerprint256,
      notAfter: pki.server.notAfter.toISOString(),
      policyRevision: revision,
    });
    expect(response.body.workers).toEqual([expected, expected]);
    expect(new Set((response.body.workers as WorkerState[]).map((w) => w.pid)).size).toBe(2);
  });

  it("does not answer reviews on the primary's health port, with the 404 a single process gives", async () => {
    const response = await health().post('/image_policy').send({});
    expect(response.status).toBe(404);
    expect(response.body).toEqual({
      statusCode: 404,
      error: 'Not Found',
      message: 'Cannot POST /image_policy on the health port; reviews are served over TLS',
    });
  });

  it('applies a policy edit in every worker', async () => {
    expect(await reviewOnNewConnection('nginx')).toBe(false);
    const before = (await workers())[0].policyRevision;
    writeFileSync(join(dir, 'policy.yaml'), POLICY('dev'));
    const after = await everyWorker('enforce the edited policy', (w) => w.policyRevision !== before);
    expect(new Set(after.map((w) => w.policyRevision)).size).toBe(1);
    for (let i = 0; i < 12; i++) expect(await reviewOnNewConnection('nginx')).toBe(true);
    expect(bouncer.output().match(/policy reloaded/g)).toHaveLength(2);
  });

  const scrape = async () => parsePrometheusText((await health().get('/metrics').expect(200)).text);

  it('counts one policy edit once, logs a refused one once, and shows it refused until it is fixed', async () => {
    const counted = async (result: string) =>
      sampleValue(await scrape(), 'kube_image_bouncer_policy_reloads_total', { result });
    const [applied, refused] = [await counted('applied'), await counted('refused')];
    const before = (await workers())[0].policyRevision;

    writeFileSync(join(dir, 'policy.yaml'), POLICY('dev, staging'));
    await everyWorker('enforce the edit', (w) => w.policyRevision !== before);
    expect(await counted('applied')).toBe(applied! + 1);
    const inForce = (await workers())[0].policyRevision;

    // A misspelt key, as in conformance scenario 7.
    const typo = POLICY('dev').replace('rules:', 'rule:');
    writeFileSync(join(dir, 'policy.yaml'), typo);
    // Each worker says it at debug only; the primary logs it, once.
    await eventually('both workers to refuse the edit', () => {
      const said = bouncer
        .output()
        .split('\n')
        .filter((line) => line.includes('"level":"debug"') && line.includes('invalid image policy'));
      return said.length < 2
        ? Promise.reject(new Error(`${said.length} worker(s) refused it so far`))
        : Promise.resolve();
    });
    // A scrape asks each worker over the channel its report came by, so every report is in by its answer.
    const samples = await scrape();
    expect(sampleValue(samples, 'kube_image_bouncer_policy_reloads_total', { result: 'refused' })).toBe(
      refused! + 1,
    );
    expect(sampleValue(samples, 'kube_image_bouncer_policy_reload_refused')).toBe(1);
    const refusals = bouncer
      .output()
      .split('\n')
      .filter((line) => line.includes('"level":"error"') && line.includes('invalid image policy'));
    expect(refusals).toHaveLength(1);
    expect(JSON.parse(refusals[0])).toMatchObject({
      context: 'PolicyStore',
      msg: expect.stringContaining(`keeping policy revision ${inForce} in force`),
    });
    expect((await workers()).map((w) => w.policyRevision)).toEqual([inForce, inForce]);

    writeFileSync(join(dir, 'policy.yaml'), POLICY('dev'));
    await everyWorker('enforce the fixed edit', (w) => w.policyRevision !== inForce);
    await eventually('the refused gauge to fall back to 0', async () => {
      if (sampleValue(await scrape(), 'kube_image_bouncer_policy_reload_refused') !== 0)
        throw new Error('still 1');
    });
    expect(await counted('applied')).toBe(applied! + 2);
  });

  it('reports process metrics per process, and what runs and enforces once', async () => {
    const samples = await scrape();
    const processes = (name: string) =>
      samples
        .filter((s) => s.name === name)
        .map((s) => s.labels.process)
        .sort();
    const pids = (await workers()).map((w) => w.pid);
    expect(pids).toHaveLength(2);
    for (const name of ['process_max_fds', 'process_resident_memory_bytes', 'process_start_time_seconds'])
      expect(processes(name)).toEqual([
        'primary',
        expect.stringMatching(/^worker-\d+$/),
        expect.stringMatching(/^worker-\d+$/),
      ]);
    // Never a sum: each process's file descriptor limit is the limit, not twice it.
    expect(new Set(samples.filter((s) => s.name === 'process_max_fds').map((s) => s.value)).size).toBe(1);
    expect(samples.filter((s) => s.name === 'kube_image_bouncer_build_info')).toEqual([
      {
        name: 'kube_image_bouncer_build_info',
        labels: { version: '0.1.0', commit: expect.any(String), nodejs: process.version },
        value: 1,
      },
    ]);
    const revision = (await workers())[0].policyRevision;
    expect(samples.filter((s) => s.name === 'kube_image_bouncer_policy_info')).toEqual([
      {
        name: 'kube_image_bouncer_policy_info',
        labels: { name: join(dir, 'policy.yaml'), revision },
        value: 1,
      },
    ]);
  });

  const rotatedPair = (commonName: string) =>
    issueCertificate(pki.ca, { commonName, usages: ['server'], ipAddresses: ['127.0.0.1'] });
  const newConnectionsSee = async (): Promise<string[]> => {
    const seen = new Set<string>();
    for (let i = 0; i < 12; i++) seen.add(await fingerprintOfNewConnection());
    return [...seen];
  };

  it('serves a rotated certificate from every worker, and counts the rotation once', async () => {
    const rotations = async () =>
      sampleValue(await scrape(), 'kube_image_bouncer_certificate_rotations_total', { result: 'applied' });
    const before = await rotations();
    const rotated = await rotatedPair('rotated');
    volume.publish(rotated.certificatePem, rotated.privateKeyPem);
    await everyWorker('serve the rotated certificate', (w) => w.fingerprint256 === rotated.fingerprint256);
    expect(await newConnectionsSee()).toEqual([rotated.fingerprint256]);
    // The scrape's round trip to each worker comes after its report of the rotation.
    expect(await rotations()).toBe(before! + 1);
  });

  it('serves a certificate rewritten in place, through the secret volume’s symlinks, from every worker', async () => {
    const rewritten = await rotatedPair('rewritten');
    writeFileSync(volume.certPath, rewritten.certificatePem);
    writeFileSync(volume.keyPath, rewritten.privateKeyPem);
    await everyWorker(
      'serve the rewritten certificate',
      (w) => w.fingerprint256 === rewritten.fingerprint256,
    );
    expect(await newConnectionsSee()).toEqual([rewritten.fingerprint256]);
  });

  it('replaces a worker that dies, and keeps serving meanwhile', async () => {
    const before = (await health().get('/readyz').expect(200)).body.workers as { pid: number }[];
    process.kill(before[0].pid, 'SIGKILL');
    // A connection the primary handed to the worker as it died is lost with it (the apiserver's
    // webhook timeout turns that into a denial); every other review is answered.
    let answered = 0;
    for (let i = 0; i < 10; i++) {
      if (
        await reviewOnNewConnection('nginx:1').then(
          () => true,
          () => false,
        )
      )
        answered++;
    }
    expect(answered).toBeGreaterThanOrEqual(9);
    let after: { pid: number }[] = [];
    for (let i = 0; i < 100; i++) {
      const response = await health().get('/readyz');
      after = (response.body as { workers?: { pid: number }[] }).workers ?? [];
      if (response.status === 200 && after.length === 2) break;
      await delay(50);
    }
    expect(after).toHaveLength(2);
    expect(after.map((w) => w.pid)).not.toContain(before[0].pid);
  });

  it('keeps what a worker counted after it dies: no counter goes backwards, and the restart is counted', async () => {
    for (let i = 0; i < 20; i++) await reviewOnNewConnection(`never-backwards/app:${i}`);
    await reviewOnNewConnection('nginx');
    const before = await scrape();
    const counters = before.filter(
      (s) => s.name.startsWith('kube_image_bouncer_') && /_(total|count|sum|bucket)$/.test(s.name),
    );
    expect(counters.map((s) => s.name)).toEqual(
      expect.arrayContaining([
        'kube_image_bouncer_decisions_total',
        'kube_image_bouncer_requests_total',
        'kube_image_bouncer_request_duration_seconds_bucket',
        'kube_image_bouncer_request_duration_seconds_count',
      ]),
    );
    const victims = (await health().get('/readyz').expect(200)).body.workers as { pid: number }[];
    const restarts = sampleValue(before, 'kube_image_bouncer_worker_restarts_total')!;

    process.kill(victims[0].pid, 'SIGKILL');
    const survivor = victims[1].pid;
    const replacement = await eventually('a replacement worker', async () => {
      const response = await health().get('/readyz');
      const now = (response.body as { workers?: { pid: number }[] }).workers ?? [];
      if (response.status !== 200 || now.length !== 2 || now.some((w) => w.pid === victims[0].pid))
        throw new Error(JSON.stringify(response.body));
      return now.find((w) => w.pid !== survivor)!.pid;
    });
    /** The cluster worker id a process's log lines carry, which its `process` label names. */
    const workerIdOf = (pid: number): number =>
      bouncer
        .output()
        .split('\n')
        .filter((line) => line.startsWith('{'))
        .map((line) => JSON.parse(line) as { pid?: number; worker?: number })
        .find((line) => line.pid === pid && line.worker !== undefined)!.worker!;
    const processesIn = (samples: Sample[]) =>
      samples
        .filter((s) => s.name === 'process_max_fds')
        .map((s) => s.labels.process)
        .sort();
    expect(processesIn(before)).toContain(`worker-${workerIdOf(victims[0].pid)}`);
    // Every scrape from now on, until the replacement has answered one (a worker that does not
    // answer within 2 s is summed as it last answered, and a new one has not yet), keeps them all.
    const fellIn = (samples: Sample[]) =>
      counters.filter((s) => (sampleValue(samples, s.name, s.labels) ?? 0) < s.value);
    const after = await eventually('a scrape the replacement worker has answered', async () => {
      const samples = await scrape();
      const fell = fellIn(samples);
      if (fell.length > 0) throw new WaitingIsPointless(`counters went backwards: ${JSON.stringify(fell)}`);
      if (!processesIn(samples).includes(`worker-${workerIdOf(replacement)}`))
        throw new Error('the replacement has not answered a scrape yet');
      return samples;
    });
    expect(fellIn(after)).toEqual([]);
    expect(
      sampleValue(after, 'kube_image_bouncer_decisions_total', {
        endpoint: 'image_policy',
        decision: 'allow',
        rule: '',
      }),
    ).toBe(
      sampleValue(before, 'kube_image_bouncer_decisions_total', {
        endpoint: 'image_policy',
        decision: 'allow',
        rule: '',
      }),
    );
    expect(sampleValue(after, 'kube_image_bouncer_worker_restarts_total')).toBe(restarts + 1);
    // The dead worker's own process metrics went with it; the others' are each their own.
    expect(processesIn(after)).toEqual(
      ['primary', ...[survivor, replacement].map((pid) => `worker-${workerIdOf(pid)}`)].sort(),
    );
  });
});

describe('cluster mode without a health port', () => {
  let pki: TestPki;
  let bouncer: BouncerProcess;
  let port: number;
  beforeAll(async () => {
    pki = await createTestPki();
    port = await freePort();
    bouncer = runBouncer([
      '--workers',
      '2',
      '--host',
      '127.0.0.1',
      '--port',
      String(port),
      '--cert',
      pki.paths.serverCert,
      '--key',
      pki.paths.serverKey,
    ]);
    await bouncer.waitFor('kube-image-bouncer serving');
  });
  afterAll(() => bouncer.stop());

  /** A request on a connection of its own, so that consecutive ones reach both workers. */
  const tls = () => request(`https://127.0.0.1:${port}`);
  const get = (path: string) => tls().get(path).ca(pki.ca.certificatePem).set('Connection', 'close');

  it('serves on the TLS port the metrics of every worker, summed, whichever worker answers', async () => {
    for (let i = 0; i < 10; i++) {
      await tls()
        .post('/image_policy')
        .ca(pki.ca.certificatePem)
        .set('Connection', 'close')
        .send(imageReview([`tls-metrics/app:${i}`]))
        .expect(200);
    }
    const pids = new Set(
      bouncer
        .output()
        .split('\n')
        .filter((line) => line.includes('tls-metrics/app:'))
        .map((line) => (JSON.parse(line) as { pid: number }).pid),
    );
    expect(pids.size).toBe(2);
    for (let scrape = 0; scrape < 2; scrape++) {
      const samples = parsePrometheusText((await get('/metrics').expect(200)).text);
      expect(
        sampleValue(samples, 'kube_image_bouncer_decisions_total', {
          endpoint: 'image_policy',
          decision: 'allow',
          rule: '',
        }),
      ).toBe(10);
    }
  });

  it('answers /readyz on the TLS port for the whole cluster', async () => {
    const response = await get('/readyz').expect(200);
    expect(response.body).toMatchObject({ status: 'ok', converged: true });
    expect(response.body.workers).toHaveLength(2);
    const expected: unknown = expect.objectContaining({
      ready: true,
      fingerprint256: pki.server.fingerprint256,
    });
    expect(response.body.workers).toEqual([expected, expected]);
  });
});

describe('cluster mode that cannot start', () => {
  it('stops with exit status 2 and says why in one line when workers cannot listen', async () => {
    const occupied = createServer().listen(0, '127.0.0.1');
    await new Promise((resolve) => occupied.once('listening', resolve));
    const { port } = occupied.address() as { port: number };
    const bouncer = runBouncer(['--workers', '2', '--host', '127.0.0.1', '--port', String(port)]);
    try {
      expect(await bouncer.exited).toBe(2);
      expect(bouncer.output()).toContain(
        `kube-image-bouncer: cannot listen on --host 127.0.0.1 --port ${port}: the port is already in use\n`,
      );
      expect(bouncer.output()).not.toMatch(/exited with|at .*\.js:\d+/);
    } finally {
      occupied.close();
    }
  });
});
