import { setTimeout as delay } from 'node:timers/promises';
import request from 'supertest';
import { BouncerProcess, freePort, loopbackListenerArgs, runBouncer } from './support/bouncer-process';
import { admissionReview, imageReview, web, WORKLOAD_KINDS } from './support/reviews';
import { TestPki, createTestPki } from './support/test-pki';

jest.setTimeout(30_000);
const deployment = WORKLOAD_KINDS.find((k) => k.kind === 'Deployment')!;

describe('logs', () => {
  let pki: TestPki;
  let bouncer: BouncerProcess | undefined;
  beforeAll(async () => {
    pki = await createTestPki();
  });
  afterEach(async () => {
    await bouncer?.stop();
    bouncer = undefined;
  });

  const start = async (extra: string[]): Promise<{ port: number; healthPort: number }> => {
    const [port, healthPort] = [await freePort(), await freePort()];
    bouncer = runBouncer([
      '--cert',
      pki.paths.serverCert,
      '--key',
      pki.paths.serverKey,
      ...loopbackListenerArgs(port, healthPort),
      ...extra,
    ]);
    // Wait on readiness, not on the "serving" line: a higher log level leaves that line out.
    for (let ready = false; !ready;) {
      ready = await request(`http://127.0.0.1:${healthPort}`)
        .get('/readyz')
        .then((r) => r.status === 200)
        .catch(() => false);
      if (bouncer.child.exitCode !== null) throw new Error(`bouncer exited:\n${bouncer.output()}`);
      if (!ready) await delay(50);
    }
    return { port, healthPort };
  };
  const review = async (port: number, path: string, body: object) =>
    request(`https://127.0.0.1:${port}`).post(path).ca(pki.ca.certificatePem).send(body).expect(200);

  it('writes one JSON line per review, with what an auditor needs, and nothing for probes or scrapes', async () => {
    const { port, healthPort } = await start([]);
    await review(port, '/image_policy', imageReview(['nginx', 'nginx:1.25'], { namespace: 'team-a' }));
    await review(
      port,
      '/validate',
      admissionReview({
        uid: 'uid-42',
        kind: deployment,
        namespace: 'team-b',
        object: deployment.wrap({ ...web('redis:7') }),
      }),
    );
    await request(`http://127.0.0.1:${healthPort}`).get('/healthz').expect(200);
    await request(`http://127.0.0.1:${healthPort}`).get('/readyz').expect(200);
    await request(`http://127.0.0.1:${healthPort}`).get('/metrics').expect(200);
    await bouncer!.waitFor('"uid":"uid-42"');
    await bouncer!.stop();

    const lines = bouncer!
      .output()
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as Record<string, unknown>);
    const reviews = lines.filter((line) => line.context === 'ReviewAudit');
    expect(reviews).toEqual([
      expect.objectContaining({
        level: 'info',
        msg: 'review denied',
        endpoint: 'image_policy',
        namespace: 'team-a',
        decision: 'deny',
        images: ['nginx', 'nginx:1.25'],
        rules: ['no-latest:enforce'],
        policyRevision: expect.stringMatching(/^[0-9a-f]{12}$/),
        time: expect.any(String),
      }),
      expect.objectContaining({
        msg: 'review allowed',
        endpoint: 'validate',
        uid: 'uid-42',
        namespace: 'team-b',
        kind: 'apps/Deployment',
        name: 'example',
        operation: 'CREATE',
        decision: 'allow',
        images: ['redis:7'],
        rules: [],
      }),
    ]);
    const text = bouncer!.output();
    // Nest lists its routes once at start; after that, probes and scrapes leave no trace.
    const afterStart = lines.filter((line) => line.context !== 'RouterExplorer');
    expect(JSON.stringify(afterStart)).not.toMatch(/healthz|readyz|\/metrics/);
    expect(text).not.toContain('PRIVATE KEY');
    expect(text).not.toContain(pki.server.privateKeyPem.split('\n')[1]);
  });

  const NEST_BOOTSTRAP = [
    'NestFactory',
    'NestApplication',
    'InstanceLoader',
    'RoutesResolver',
    'RouterExplorer',
  ];
  const startLines = async (extra: string[]): Promise<Record<string, unknown>[]> => {
    await start(extra);
    await bouncer!.stop();
    return bouncer!
      .output()
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as Record<string, unknown>);
  };

  it("starts in a few info lines of its own: Nest's bootstrap narration is debug", async () => {
    const lines = await startLines(['--workers', '1']);
    expect(lines.map((line) => `${line.level as string} ${line.msg as string}`)).toEqual([
      expect.stringMatching(/^info 1 worker \(a single process\): /),
      expect.stringMatching(/^info policy: built-in default policy/),
      expect.stringMatching(/^info serving certificate .*server\.crt, SHA-256 fingerprint /),
      expect.stringMatching(/^info kube-image-bouncer serving ImageReview and AdmissionReview on https:/),
      expect.stringMatching(/^info SIGTERM received/),
    ]);
  });

  it('starts a cluster without the bootstrap narration of each worker', async () => {
    const lines = await startLines(['--workers', '2']);
    expect(lines.filter((line) => NEST_BOOTSTRAP.includes(line.context as string))).toEqual([]);
    // The primary's workers line, each worker's policy and certificate lines, the serving line and the drain line.
    expect(lines.filter((line) => line.level === 'info')).toHaveLength(7);
  });

  it.each([['1'], ['2']])(
    'warns once, with --workers %s, that an exception of the policy has expired',
    async (workers) => {
      const lines = await startLines([
        '--workers',
        workers,
        '--policy',
        'test/fixtures/policies/exceptions.yaml',
      ]);
      expect(lines.filter((line) => String(line.msg).includes('expired'))).toEqual([
        expect.objectContaining({
          level: 'warn',
          msg: 'policy: test/fixtures/policies/exceptions.yaml:13: spec.exceptions[1] (ticket CHG-1999) expired at 2020-01-31T00:00:00.000Z and lets nothing through; remove it, or renew it with a later expires',
        }),
      ]);
    },
  );

  it('--log-level debug shows the bootstrap lines again', async () => {
    const lines = await startLines(['--log-level', 'debug', '--workers', '1']);
    const bootstrap = lines.filter((line) => NEST_BOOTSTRAP.includes(line.context as string));
    expect(bootstrap.length).toBeGreaterThan(20);
    expect(new Set(bootstrap.map((line) => line.level))).toEqual(new Set(['debug']));
    expect(lines.find((line) => String(line.msg).startsWith('kube-image-bouncer serving'))).toMatchObject({
      level: 'info',
    });
  });

  it('--log-level warn leaves out allowed and denied reviews but keeps failures', async () => {
    const { port } = await start(['--log-level', 'warn']);
    await review(port, '/image_policy', imageReview(['nginx']));
    await review(
      port,
      '/validate',
      admissionReview({ uid: 'broken-1', object: { spec: { containers: 7 } } }),
    );
    await bouncer!.waitFor('broken-1');
    expect(bouncer!.output()).not.toContain('review denied');
    expect(bouncer!.output()).toContain('"msg":"review failed (malformed)"');
  });

  it('--log-format pretty writes lines for a terminal', async () => {
    const { port } = await start(['--log-format', 'pretty']);
    await review(port, '/image_policy', imageReview(['nginx']));
    await bouncer!.waitFor('review denied');
    const line = bouncer!
      .output()
      .split('\n')
      .find((l) => l.includes('review denied'))!;
    expect(() => JSON.parse(line) as unknown).toThrow();
    expect(line).toMatch(/INFO.*review denied/);
  });
});
