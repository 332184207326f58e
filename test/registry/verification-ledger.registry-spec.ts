import { Logger } from '@nestjs/common';
import { request as httpsRequest } from 'node:https';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import request from 'supertest';
import { RunningWebhookServer } from '../../src/server/webhook-server';
import { LedgerClock } from '../../src/verification-ledger';
import { BouncerProcess, freePort, loopbackListenerArgs, runBouncer } from '../support/bouncer-process';
import { POD_KIND, admissionReview } from '../support/reviews';
import { TestPki, createTestPki } from '../support/test-pki';
import { startTestServer } from '../support/webhook-server.fixture';
import { Cosign } from './support/cosign';
import { Crane, LocalRegistry, startRegistry } from './support/local-registry';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const buildDist = require('../support/build-dist.global-setup.js') as () => void;

interface Answer {
  readonly allowed: boolean;
  readonly warnings?: string[];
  readonly message?: string;
  readonly auditAnnotations: Record<string, string>;
}

const DAY = 86_400_000;

/**
 * The verification ledger against Debian's docker-registry, with images pushed by crane and signed
 * by cosign: push and sign, admit, stop the registry process, restart the bouncer, and see what it
 * admits (the verified digest, with the warning) and what it does not (a digest never verified; a
 * verdict under an edited policy or a rotated key; one past admitVerifiedWithin by a test clock;
 * anything from a corrupted ledger). Then a cluster of two workers, one killed and replaced, the
 * registry away: every worker admits what either verified.
 */
describe('the verification ledger with a real registry going away', () => {
  let pki: TestPki;
  let crane: Crane;
  let cosign: Cosign;
  let registry: LocalRegistry | undefined;
  let storage: string;
  let port: number;
  let host: string;
  let trusted: string;
  let rotated: string;
  let signed: string;
  let never: string;
  let folder: string;
  let server: RunningWebhookServer | undefined;

  const upRegistry = async (): Promise<void> => {
    registry = await startRegistry({ storage, port });
  };
  const downRegistry = async (): Promise<void> => {
    await registry?.stop();
    registry = undefined;
  };

  const policyText = (key: string, extra = ''): string => `apiVersion: kube-image-bouncer.io/v1alpha1
kind: ImagePolicy
metadata: {name: ledger-registry-test}
spec:
  registries: [{host: "${host}", insecure: true}]
  registryTimeoutSeconds: 3
  verificationLedger: {path: ${JSON.stringify(join(folder, 'ledger'))}, admitVerifiedWithin: 24h, refreshBefore: 10m}
  rules:
    - name: signed
      verifySignatures: {keys: [${JSON.stringify(key)}]}
${extra}`;

  const restartBouncer = async (): Promise<RunningWebhookServer> => {
    await server?.close();
    server = await startTestServer(pki, { policyPath: join(folder, 'policy.yaml') });
    return server;
  };

  const validate = async (image: string): Promise<Answer> => {
    const { body } = await request(server!.tlsServer)
      .post('/validate')
      .ca(pki.ca.certificatePem)
      .send(admissionReview({ object: POD_KIND.wrap({ containers: [{ name: 'app', image }] }) }))
      .expect(200);
    const response = (body as { response: Answer & { status?: { message: string } } }).response;
    return { ...response, message: response.status?.message };
  };

  beforeAll(async () => {
    Logger.overrideLogger(false);
    pki = await createTestPki();
    crane = new Crane();
    cosign = new Cosign();
    storage = join(mkdtempSync(join(tmpdir(), 'kib-ledger-registry-')), 'storage');
    registry = await startRegistry({ storage });
    host = registry.host;
    port = Number(host.split(':')[1]);
    trusted = await cosign.generateKeyPair('ci');
    rotated = await cosign.generateKeyPair('next');
    const signedDigest = await crane.push(`${host}/demo/signed:v1`, 'content of signed');
    const neverDigest = await crane.push(`${host}/demo/never:v1`, 'content of never');
    signed = `${host}/demo/signed@${signedDigest}`;
    never = `${host}/demo/never@${neverDigest}`;
    await cosign.sign(signed, 'ci');
    await cosign.sign(never, 'ci');
  }, 600_000);

  beforeEach(async () => {
    folder = mkdtempSync(join(tmpdir(), 'kib-ledger-bouncer-'));
    writeFileSync(join(folder, 'policy.yaml'), policyText(trusted));
    if (!registry) await upRegistry();
  });

  afterEach(async () => {
    await server?.close();
    server = undefined;
    jest.restoreAllMocks();
  });

  afterAll(async () => {
    await downRegistry();
  });

  it('admits the verified digest with the warning once the registry process is stopped and the bouncer restarted; denies a digest never verified', async () => {
    await restartBouncer();
    expect((await validate(signed)).allowed).toBe(true);
    await downRegistry();
    await restartBouncer();

    const verified = await validate(signed);
    const unseen = await validate(never);

    expect(verified.allowed).toBe(true);
    expect(verified.warnings).toEqual([
      expect.stringContaining(
        `image ${signed} admitted from the verification ledger: registry unreachable, and digest ${signed.split('@')[1]} verified`,
      ),
    ]);
    expect(verified.auditAnnotations).toMatchObject({ 'decision-source': 'ledger' });
    expect(verified.auditAnnotations['verdict-age-seconds']).toMatch(/^\d+$/);
    expect(unseen.allowed).toBe(false);
    expect(unseen.message).toContain('registry unreachable');
  });

  it('voids ledger admission on a policy edit', async () => {
    await restartBouncer();
    expect((await validate(signed)).allowed).toBe(true);
    await downRegistry();
    writeFileSync(
      join(folder, 'policy.yaml'),
      policyText(trusted, '    - name: no-latest\n      disallowedTags: [latest]\n'),
    );
    await restartBouncer();

    expect((await validate(signed)).allowed).toBe(false);
  });

  it('voids ledger admission on a key rotation', async () => {
    await restartBouncer();
    expect((await validate(signed)).allowed).toBe(true);
    await downRegistry();
    writeFileSync(join(folder, 'policy.yaml'), policyText(rotated));
    await restartBouncer();

    expect((await validate(signed)).allowed).toBe(false);
  });

  it('admits no longer than admitVerifiedWithin, by a test clock', async () => {
    await restartBouncer();
    expect((await validate(signed)).allowed).toBe(true);
    const verifiedBy = Date.now();
    await downRegistry();
    await restartBouncer();
    const clock = server!.app.get(LedgerClock);

    jest.spyOn(clock, 'now').mockReturnValue(verifiedBy + DAY - 60_000);
    expect((await validate(signed)).allowed).toBe(true);
    jest.spyOn(clock, 'now').mockReturnValue(verifiedBy + DAY + 60_000);
    expect((await validate(signed)).allowed).toBe(false);
  });

  it('admits nothing from a corrupted ledger file, and says so in /readyz', async () => {
    await restartBouncer();
    expect((await validate(signed)).allowed).toBe(true);
    await server!.close();
    server = undefined;
    const file = join(folder, 'ledger', 'ledger-v1.jsonl');
    const text = readFileSync(file, 'utf8');
    writeFileSync(file, text.replace('"outcome":"verified"', '"outcome":"verifieD"'));
    await downRegistry();
    await restartBouncer();

    const ready = await request(server!.tlsServer).get('/readyz').ca(pki.ca.certificatePem).expect(200);
    expect((ready.body as { info: { ledger: { admission: string } } }).info.ledger.admission).toBe('off');
    expect((await validate(signed)).allowed).toBe(false);
  });

  describe('two workers, and a restart of one', () => {
    let bouncer: BouncerProcess;
    let tlsPort: number;
    let healthPort: number;

    /** Each review on a connection of its own, so that the cluster spreads them over its workers. */
    const reviewOnNewConnection = (image: string): Promise<boolean> =>
      new Promise((resolve, reject) => {
        const body = JSON.stringify(
          admissionReview({ object: POD_KIND.wrap({ containers: [{ name: 'app', image }] }) }),
        );
        const req = httpsRequest(
          {
            host: '127.0.0.1',
            port: tlsPort,
            path: '/validate',
            method: 'POST',
            agent: false,
            ca: pki.ca.certificatePem,
            timeout: 10_000,
            headers: { 'content-type': 'application/json' },
          },
          (res) => {
            let text = '';
            res.on('data', (chunk: Buffer) => (text += chunk.toString()));
            res.on('end', () =>
              resolve((JSON.parse(text) as { response: { allowed: boolean } }).response.allowed),
            );
          },
        );
        req.on('timeout', () => req.destroy(new Error('timed out')));
        req.on('error', reject);
        req.end(body);
      });

    const workerPids = async (): Promise<number[]> => {
      const response = await request(`http://127.0.0.1:${healthPort}`).get('/readyz');
      return ((response.body as { workers?: { pid: number }[] }).workers ?? []).map((w) => w.pid);
    };

    beforeAll(() => buildDist(), 600_000);

    afterEach(() => bouncer?.stop());

    it('admits through the outage on every worker, the replacement of a killed one included', async () => {
      writeFileSync(join(folder, 'tls.crt'), pki.server.certificatePem);
      writeFileSync(join(folder, 'tls.key'), pki.server.privateKeyPem);
      [tlsPort, healthPort] = [await freePort(), await freePort()];
      bouncer = runBouncer([
        '--workers',
        '2',
        ...loopbackListenerArgs(tlsPort, healthPort),
        '--cert',
        join(folder, 'tls.crt'),
        '--key',
        join(folder, 'tls.key'),
        '--policy',
        join(folder, 'policy.yaml'),
      ]);
      await bouncer.waitFor('kube-image-bouncer serving');
      // Verified once, by whichever worker took it; the other hears of it through the primary.
      expect(await reviewOnNewConnection(signed)).toBe(true);
      await downRegistry();

      const during: boolean[] = [];
      for (let i = 0; i < 6; i++) during.push(await reviewOnNewConnection(signed));
      const [killed] = await workerPids();
      process.kill(killed, 'SIGKILL');
      let pids: number[] = [];
      for (let i = 0; i < 200 && !(pids.length === 2 && !pids.includes(killed)); i++) {
        await new Promise((resolve) => setTimeout(resolve, 50));
        pids = await workerPids().catch(() => []);
      }
      const after: boolean[] = [];
      for (let i = 0; i < 6; i++) after.push(await reviewOnNewConnection(signed));
      const unseen = await reviewOnNewConnection(never);

      expect(during).toEqual([true, true, true, true, true, true]);
      expect(pids).toHaveLength(2);
      expect(pids).not.toContain(killed);
      expect(after).toEqual([true, true, true, true, true, true]);
      expect(unseen).toBe(false);
    }, 120_000);
  });
});
