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
import { parsePrometheusText, sampleValue } from './support/prometheus-text';
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
    expect((await health().get('/readyz').expect(200)).body.workers).toHaveLength(2);
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
    writeFileSync(join(dir, 'policy.yaml'), POLICY('dev'));
    for (let i = 0; !(await reviewOnNewConnection('nginx')) && i < 100; i++) await delay(25);
    await delay(1_200); // both workers have seen the file by now (watch, or the 1 s poll)
    for (let i = 0; i < 12; i++) expect(await reviewOnNewConnection('nginx')).toBe(true);
    expect(bouncer.output().match(/policy reloaded/g)).toHaveLength(2);
  });

  it('serves a rotated certificate from every worker', async () => {
    const rotated = await issueCertificate(pki.ca, {
      commonName: 'rotated',
      usages: ['server'],
      ipAddresses: ['127.0.0.1'],
    });
    volume.publish(rotated.certificatePem, rotated.privateKeyPem);
    await delay(1_500);
    const seen = new Set<string>();
    for (let i = 0; i < 12; i++) seen.add(await fingerprintOfNewConnection());
    expect([...seen]).toEqual([rotated.fingerprint256]);
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
