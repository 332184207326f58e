import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import request from 'supertest';
import { RunningWebhookServer } from '../src/server/webhook-server';
import { CosignWriter, keyPair } from '../src/testing/cosign-fixtures';
import { FakeRegistry } from '../src/testing/fake-registry';
import { LedgerClock } from '../src/verification-ledger';
import { POD_KIND, admissionReview } from './support/reviews';
import { TestPki, createTestPki } from './support/test-pki';
import { startTestServer } from './support/webhook-server.fixture';

interface Answer {
  readonly allowed: boolean;
  readonly warnings?: string[];
  readonly message?: string;
  readonly auditAnnotations: Record<string, string>;
  readonly patch?: string;
}

const DAY = 86_400_000;

/**
 * The verification ledger end to end, over real HTTPS, against a registry that can be made to fail
 * (HTTP 500: "registry unreachable") or to answer: what it admits through an outage (a digest
 * verified under the same policy revision and trust, within admitVerifiedWithin), and everything it
 * refuses to (a digest never verified, one refused since, one verified under another policy or key,
 * one verified too long ago, anything from a damaged ledger).
 */
describe('the verification ledger through a registry outage', () => {
  const registry = new FakeRegistry();
  const cosign = new CosignWriter(registry);
  const signer = keyPair();
  const stranger = keyPair();
  let pki: TestPki;
  let folder: string;
  let ledgerDir: string;
  let policyPath: string;
  let server: RunningWebhookServer | undefined;
  const digests: Record<string, string> = {};
  const image = (name: string): string => `${registry.host}/demo/${name}@${digests[name]}`;

  const policy = (extra = ''): string => `apiVersion: kube-image-bouncer.io/v1alpha1
kind: ImagePolicy
metadata: {name: ledger-test}
spec:
  registries: [{host: "${registry.host}", insecure: true}]
  registryTimeoutSeconds: 2
  verificationLedger: {admitVerifiedWithin: 24h, refreshBefore: 10m}
  rules:
    - name: signed
      verifySignatures: {keys: [cosign.pub]}
${extra}`;

  const start = async (): Promise<RunningWebhookServer> => {
    await server?.close();
    server = await startTestServer(pki, { policyPath, ledgerDir });
    return server;
  };

  const validate = async (images: readonly string[]): Promise<Answer> => {
    const { body } = await request(server!.tlsServer)
      .post('/validate')
      .ca(pki.ca.certificatePem)
      .send(
        admissionReview({
          object: POD_KIND.wrap({ containers: images.map((img, i) => ({ name: `c${i}`, image: img })) }),
        }),
      )
      .expect(200);
    const response = (body as { response: Answer & { status?: { message: string } } }).response;
    return { ...response, message: response.status?.message };
  };

  const sign = (name: string, key = signer): void =>
    cosign.pushSignatures(`demo/${name}`, digests[name], [
      cosign.classicSignature(`demo/${name}`, digests[name], key.privateKey),
    ]);

  beforeAll(async () => {
    pki = await createTestPki();
    await registry.start();
    for (const name of ['signed', 'never-seen', 'unsigned', 'revoked', 'by-stranger'])
      digests[name] = cosign.image(`demo/${name}`);
    sign('signed');
    sign('revoked');
    sign('never-seen');
    sign('by-stranger', stranger);
  });

  beforeEach(() => {
    registry.behaviour = 'serve';
    folder = mkdtempSync(join(tmpdir(), 'kib-ledger-'));
    ledgerDir = join(folder, 'ledger');
    policyPath = join(folder, 'policy.yaml');
    writeFileSync(join(folder, 'cosign.pub'), signer.publicPem);
    writeFileSync(policyPath, policy());
  });

  afterEach(async () => {
    await server?.close();
    server = undefined;
    jest.restoreAllMocks();
  });

  afterAll(async () => {
    await registry.stop();
  });

  it('admits a digest verified before the outage, with a warning and decision-source: ledger, across a restart; denies one never verified', async () => {
    await start();
    expect((await validate([image('signed')])).allowed).toBe(true);
    registry.behaviour = 'fail';
    await start();

    const during = await validate([image('signed')]);
    const never = await validate([image('never-seen')]);

    expect(during.allowed).toBe(true);
    expect(during.warnings).toEqual([
      expect.stringMatching(
        new RegExp(
          `^container "c0" \\(containers\\): image ${image('signed').replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} admitted from the verification ledger: registry unreachable, and digest ${digests.signed} verified \\d+s ago under this policy revision and trust material \\(rule signed\\)$`,
        ),
      ),
    ]);
    expect(during.auditAnnotations).toMatchObject({ decision: 'allow', 'decision-source': 'ledger' });
    expect(Number(during.auditAnnotations['verdict-age-seconds'])).toBeGreaterThanOrEqual(0);
    expect(never.allowed).toBe(false);
    expect(never.message).toContain('has no verified signature: registry unreachable');
    expect(never.auditAnnotations['decision-source']).toBeUndefined();
  });

  it('never admits a definite failure: an unsigned digest, or one signed by a key the policy does not trust', async () => {
    await start();
    expect((await validate([image('unsigned')])).allowed).toBe(false);
    expect((await validate([image('by-stranger')])).allowed).toBe(false);
    registry.behaviour = 'fail';
    await start();

    expect((await validate([image('unsigned')])).allowed).toBe(false);
    expect((await validate([image('by-stranger')])).allowed).toBe(false);
  });

  it('voids a verdict the registry refused since: a signature deleted to revoke it is honoured through the outage', async () => {
    await start();
    expect((await validate([image('revoked')])).allowed).toBe(true);
    // The signature is gone: the registry answers, and the digest no longer verifies.
    cosign.pushSignatures('demo/revoked', digests.revoked, []);
    await start();
    expect((await validate([image('revoked')])).allowed).toBe(false);
    registry.behaviour = 'fail';
    await start();

    expect((await validate([image('revoked')])).allowed).toBe(false);
    sign('revoked');
  });

  it('voids ledger admission at once when the policy changes', async () => {
    await start();
    expect((await validate([image('signed')])).allowed).toBe(true);
    registry.behaviour = 'fail';
    writeFileSync(policyPath, policy('    - name: no-latest\n      disallowedTags: [latest]\n'));
    await start();

    expect((await validate([image('signed')])).allowed).toBe(false);
  });

  it('voids ledger admission when the key is rotated: a key rotated out is never honoured from the ledger', async () => {
    await start();
    expect((await validate([image('signed')])).allowed).toBe(true);
    registry.behaviour = 'fail';
    writeFileSync(join(folder, 'cosign.pub'), keyPair().publicPem);
    await start();

    expect((await validate([image('signed')])).allowed).toBe(false);
  });

  it('admits only within admitVerifiedWithin, by the ledger clock', async () => {
    await start();
    expect((await validate([image('signed')])).allowed).toBe(true);
    registry.behaviour = 'fail';
    await start();
    const clock = server!.app.get(LedgerClock);
    const verifiedBy = Date.now();
    jest.spyOn(clock, 'now').mockReturnValue(verifiedBy + DAY - 60_000);
    const justWithin = await validate([image('signed')]);
    jest.spyOn(clock, 'now').mockReturnValue(verifiedBy + DAY + 60_000);
    const pastIt = await validate([image('signed')]);

    expect(justWithin.allowed).toBe(true);
    expect(justWithin.warnings?.[0]).toMatch(/verified 23h5\dm ago/);
    expect(pastIt.allowed).toBe(false);
  });

  it('does not wait for a failing registry again once the ledger can answer', async () => {
    await start();
    expect((await validate([image('signed')])).allowed).toBe(true);
    registry.behaviour = 'fail';
    await start();
    expect((await validate([image('signed')])).allowed).toBe(true);
    const asked = registry.requests.length;

    for (let i = 0; i < 5; i++) expect((await validate([image('signed')])).allowed).toBe(true);

    expect(registry.requests.length).toBe(asked);
  });

  it('detects a corrupted ledger: it says so in /readyz and admits nothing from it, and does not crash', async () => {
    await start();
    expect((await validate([image('signed')])).allowed).toBe(true);
    await server!.close();
    server = undefined;
    const file = join(ledgerDir, 'ledger-v1.jsonl');
    writeFileSync(file, readFileSync(file, 'utf8').replace(digests.signed.slice(-8), 'deadbeef'));
    registry.behaviour = 'fail';
    await start();

    const answer = await validate([image('signed')]);
    const ready = await request(server!.tlsServer).get('/readyz').ca(pki.ca.certificatePem);

    expect(answer.allowed).toBe(false);
    expect(ready.status).toBe(200);
    expect((ready.body as { info: { ledger: Record<string, unknown> } }).info.ledger).toMatchObject({
      status: 'up',
      admission: 'off',
      warning: expect.stringMatching(
        /^admission from the verification ledger is off: the ledger is damaged \(ledger .*: line 1: checksum mismatch\)$/,
      ),
    });
  });

  it('counts ledger admissions and shows the outage in metrics', async () => {
    await start();
    expect((await validate([image('signed')])).allowed).toBe(true);
    registry.behaviour = 'fail';
    await start();
    await validate([image('signed')]);
    await validate([image('signed')]);

    const { text } = await request(server!.tlsServer).get('/metrics').ca(pki.ca.certificatePem);

    expect(text).toContain('kube_image_bouncer_ledger_admissions_total{rule="signed"} 2');
    expect(text).toContain(`kube_image_bouncer_registry_outage{registry="${registry.host}"} 1`);
    expect(text).toContain('kube_image_bouncer_ledger_admission 1');
    expect(text).toMatch(/kube_image_bouncer_ledger_records\{type="verdict"\} [1-9]/);
  });

  it('pins a tag to its last resolution during an outage, saying so and how old it is', async () => {
    writeFileSync(policyPath, policy().replace('  rules:', '  pinDigests: true\n  rules:'));
    await start();
    const tagged = `${registry.host}/demo/signed:v1`;
    const mutate = async (): Promise<Answer> => {
      const { body } = await request(server!.tlsServer)
        .post('/mutate')
        .ca(pki.ca.certificatePem)
        .send(admissionReview({ object: POD_KIND.wrap({ containers: [{ name: 'web', image: tagged }] }) }))
        .expect(200);
      return (body as { response: Answer }).response;
    };
    expect((await mutate()).patch).toBeDefined();
    registry.behaviour = 'fail';
    await start();

    const pinned = await mutate();

    const patch = JSON.parse(Buffer.from(pinned.patch!, 'base64').toString()) as { value: string }[];
    expect(patch.map((op) => op.value)).toEqual([`${tagged}@${digests.signed}`]);
    expect(pinned.warnings).toEqual([
      expect.stringMatching(
        /^container "web" \(containers\): image .* was pinned to sha256:[0-9a-f]{64} from the verification ledger: its registry is failing \(unreachable\), and the tag resolved to it \d+s ago$/,
      ),
    ]);
    expect(pinned.auditAnnotations['decision-source']).toBe('ledger');
  });

  it('keeps no ledger unless a directory is given', async () => {
    ledgerDir = undefined as unknown as string;
    await start();
    expect((await validate([image('signed')])).allowed).toBe(true);
    registry.behaviour = 'fail';
    await start();

    expect((await validate([image('signed')])).allowed).toBe(false);
  });
});
