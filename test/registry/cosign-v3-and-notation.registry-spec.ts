import { Logger } from '@nestjs/common';
import { X509Certificate } from 'node:crypto';
import { copyFileSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import request from 'supertest';
import { RunningWebhookServer } from '../../src/server/webhook-server';
import { runCli } from '../support/cli-run';
import { POD_KIND, admissionReview, imageReview } from '../support/reviews';
import { TestPki, createTestPki } from '../support/test-pki';
import { startTestServer } from '../support/webhook-server.fixture';
import { Cosign, keylessIdentity, localSigningConfig, pushArtifact } from './support/cosign';
import { Crane, LocalRegistry, startRegistry } from './support/local-registry';
import { Notation } from './support/notation';
import { writePolicy } from './support/pinning-client';
import { RunningTimestampAuthority, startTimestampAuthority } from './support/timestamp-authority';

const WORKFLOW = 'https://github.com/acme/app/.github/workflows/release.yml@refs/tags/v1';
const GITHUB = 'https://token.actions.githubusercontent.com';
const RELEASE_IDENTITY = 'x509.subject: C=US, ST=WA, L=Seattle, O=Notary, CN=release.acme';
/** How long the short-lived signing certificate of the expiry case is valid: enough to sign with. */
const SHORT_VALIDITY_MS = 40_000;

interface BothAnswers {
  readonly imageReview: { allowed: boolean; reason?: string };
  readonly admission: { allowed: boolean; message?: string };
}

/**
 * The signatures of 2026 as the real tools write them: cosign v3.0.6 (its default sigstore bundle,
 * its classic layout, and both with a timestamp from sigstore's timestamp-authority v2.1.3 run on
 * loopback with a file signer), and notation v1.3.2 (JWS and COSE, with and without a timestamp).
 * The attacks are made from that output: a timestamp grafted onto another signature, a TSA the
 * policy does not trust, a threshold met by one signer twice, an expired certificate. Every reason
 * is checked on both review types. A Rekor v2 log cannot run offline; its entries are pinned
 * in-process (src/verification/timestamps-and-thresholds.spec.ts).
 */
describe('cosign v3 and notation against a real registry, with a local timestamp authority', () => {
  let pki: TestPki;
  let crane: Crane;
  let cosign: Cosign;
  let notation: Notation;
  let registry: LocalRegistry;
  let tsa: RunningTimestampAuthority;
  let otherTsa: RunningTimestampAuthority;
  const servers: RunningWebhookServer[] = [];
  const digests: Record<string, string> = {};
  const files: Record<string, string> = {};
  let expiresAt = 0;
  let repo: (name: string) => string;

  beforeAll(async () => {
    Logger.overrideLogger(false);
    pki = await createTestPki();
    crane = new Crane();
    cosign = new Cosign('cosign3');
    notation = new Notation();
    registry = await startRegistry();
    tsa = await startTimestampAuthority('local tsa');
    otherTsa = await startTimestampAuthority('other tsa');
    repo = (name) => `${registry.host}/demo/${name}`;
    const write = (name: string, text: string): string => {
      files[name] = join(cosign.dir, name);
      writeFileSync(files[name], text);
      return files[name];
    };
    write('tsa-chain.pem', tsa.chainPem);
    write('tsa-root.pem', tsa.rootPem);
    write('other-tsa-chain.pem', otherTsa.chainPem);
    write('other-tsa-root.pem', otherTsa.rootPem);
    files['ci.pub'] = await cosign.generateKeyPair('ci');
    files['release.pub'] = await cosign.generateKeyPair('release');

    const names = [
      'v3-bundle',
      'v3-classic',
      'v3-tsa',
      'v3-classic-tsa',
      'v3-grafted',
      'v3-twice',
      'v3-two-signers',
      'expired-stamped',
      'expired-unstamped',
      'notation-jws',
      'notation-cose',
      'notation-jws-tsa',
      'notation-cose-tsa',
    ];
    for (const name of names) digests[name] = await crane.push(`${repo(name)}:v1`, `content of ${name}`);
    const at = (name: string): string => `${repo(name)}@${digests[name]}`;

    // The short-lived certificate first, so that it has expired by the time its case runs.
    const identity = await keylessIdentity(WORKFLOW, GITHUB, { validForMs: SHORT_VALIDITY_MS });
    expiresAt = Date.now() + SHORT_VALIDITY_MS;
    await cosign.importKeyPair('keyless', identity.leafKeyPkcs8);
    write('fulcio-ca.pem', identity.caPem);
    write('leaf.pem', identity.leafPem);
    const keyless = { certificate: files['leaf.pem'], chain: files['fulcio-ca.pem'], classic: true };
    await cosign.sign(at('expired-stamped'), 'keyless', { ...keyless, timestampUrl: tsa.url });
    await cosign.sign(at('expired-unstamped'), 'keyless', keyless);

    const signingConfig = localSigningConfig(cosign.dir, tsa);
    await cosign.sign(at('v3-bundle'), 'ci');
    await cosign.sign(at('v3-classic'), 'ci', { classic: true });
    await cosign.sign(at('v3-tsa'), 'ci', { signingConfig });
    await cosign.sign(at('v3-classic-tsa'), 'ci', { classic: true, timestampUrl: tsa.url });
    await cosign.sign(at('v3-grafted'), 'ci', { classic: true });
    await cosign.sign(at('v3-twice'), 'ci');
    await cosign.sign(at('v3-twice'), 'ci');
    await cosign.sign(at('v3-two-signers'), 'ci');
    await cosign.sign(at('v3-two-signers'), 'release', { classic: true });
    await graftTimestamp('v3-classic-tsa', 'v3-grafted');

    files['release.acme.crt'] = await notation.generateTestCertificate('release.acme');
    await notation.sign(at('notation-jws'));
    await notation.sign(at('notation-cose'), { format: 'cose' });
    const timestamp = { url: tsa.url, rootPath: files['tsa-root.pem'] };
    // The TSA states its time ±1 s, and notation (as the bouncer) wants that whole range inside the
    // certificate's validity, which generate-test starts at the second it was made.
    const notBefore = new X509Certificate(readFileSync(files['release.acme.crt'])).validFrom;
    while (Date.now() < new Date(notBefore).getTime() + 2_500) await delay(250);
    await notation.sign(at('notation-jws-tsa'), { timestamp });
    await notation.sign(at('notation-cose-tsa'), { format: 'cose', timestamp });
  }, 600_000);

  afterAll(async () => {
    await Promise.all(servers.map((server) => server.close()));
    await Promise.all([registry?.stop(), tsa?.stop(), otherTsa?.stop()]);
  });

  /**
   * The real timestamp of one classic signature put on another's layer, in cosign's own
   * annotation: a timestamp that verifies, by the trusted TSA, over another signature.
   */
  async function graftTimestamp(from: string, to: string): Promise<void> {
    const sigTag = (name: string): string => `${repo(name)}:${digests[name].replace(':', '-')}.sig`;
    type Manifest = { mediaType: string; layers: { annotations: Record<string, string> }[] };
    const source = JSON.parse(await crane.crane('manifest', '--insecure', sigTag(from))) as Manifest;
    const target = JSON.parse(await crane.crane('manifest', '--insecure', sigTag(to))) as Manifest;
    const annotation = 'dev.sigstore.cosign/rfc3161timestamp';
    target.layers[0].annotations[annotation] = source.layers[0].annotations[annotation];
    await pushArtifact(registry.host, `demo/${to}`, `${digests[to].replace(':', '-')}.sig`, target, []);
  }

  const bouncer = async (rule: string): Promise<RunningWebhookServer> => {
    const policy = writePolicy(
      `registries:\n  - {host: "${registry.host}", insecure: true}\nrules:\n  - name: signed\n    verifySignatures:\n${rule.replace(/^/gm, '      ')}`,
    );
    for (const [name, path] of Object.entries(files)) copyFileSync(path, join(dirname(policy), name));
    const server = await startTestServer(pki, { policyPath: policy });
    servers.push(server);
    return server;
  };

  async function askBoth(server: RunningWebhookServer, name: string): Promise<BothAnswers> {
    const image = `${repo(name)}:v1`;
    const viaImageReview = await request(server.tlsServer)
      .post('/image_policy')
      .ca(pki.ca.certificatePem)
      .send(imageReview([image]))
      .expect(200);
    const viaAdmission = await request(server.tlsServer)
      .post('/validate')
      .ca(pki.ca.certificatePem)
      .send(admissionReview({ object: POD_KIND.wrap({ containers: [{ name: 'app', image }] }) }))
      .expect(200);
    const admission = viaAdmission.body.response as { allowed: boolean; status?: { message: string } };
    return {
      imageReview: { allowed: viaImageReview.body.status.allowed, reason: viaImageReview.body.status.reason },
      admission: { allowed: admission.allowed, message: admission.status?.message },
    };
  }

  const expectAllowed = async (server: RunningWebhookServer, name: string): Promise<void> => {
    const answers = await askBoth(server, name);
    expect([name, answers.imageReview.reason ?? 'allowed', answers.admission.message ?? 'allowed']).toEqual([
      name,
      'allowed',
      'allowed',
    ]);
  };

  const expectDenied = async (server: RunningWebhookServer, name: string, reason: string): Promise<void> => {
    const image = `${repo(name)}:v1`;
    const answers = await askBoth(server, name);
    expect(answers.imageReview).toEqual({
      allowed: false,
      reason: `Images without a verified signature are not allowed: ${image} (${reason}) (rule signed)`,
    });
    expect(answers.admission).toEqual({
      allowed: false,
      message: `container "app" (containers): image ${image} has no verified signature: ${reason} (rule signed)`,
    });
  };

  describe('cosign v3, keyed', () => {
    it('admits its default bundle, its classic layout, and both with a timestamp', async () => {
      const server = await bouncer('keys: [ci.pub]');
      for (const name of ['v3-bundle', 'v3-classic', 'v3-tsa', 'v3-classic-tsa'])
        await expectAllowed(server, name);
    });

    it('with requireTimestamp, admits only signatures stamped by the trusted TSA, over themselves', async () => {
      const server = await bouncer(
        'keys: [ci.pub]\ncertificates: {timestampAuthorities: [tsa-chain.pem], requireTimestamp: true}',
      );
      await expectAllowed(server, 'v3-tsa');
      await expectAllowed(server, 'v3-classic-tsa');
      await expectDenied(server, 'v3-bundle', 'no verified timestamp');
      await expectDenied(server, 'v3-grafted', 'no verified timestamp');
    });

    it('refuses a timestamp from a TSA the policy does not trust', async () => {
      const server = await bouncer(
        'keys: [ci.pub]\ncertificates: {timestampAuthorities: [other-tsa-chain.pem], requireTimestamp: true}',
      );
      await expectDenied(server, 'v3-tsa', 'no verified timestamp');
      await expectDenied(server, 'v3-classic-tsa', 'no verified timestamp');
    });
  });

  describe('thresholds', () => {
    it('admits two distinct trusted signers and refuses one signer twice', async () => {
      const server = await bouncer('keys: [ci.pub, release.pub]\nthreshold: 2');
      await expectAllowed(server, 'v3-two-signers');
      await expectDenied(server, 'v3-twice', 'not enough trusted signatures (1 of 2)');
    });
  });

  describe('notation', () => {
    const trust = (extra = ''): string =>
      `notation:\n  trustStore: [release.acme.crt]\n  trustedIdentities: ["${RELEASE_IDENTITY}"]${extra}`;

    it('admits JWS and COSE signatures by a trusted identity, stamped or not, with no TSA trusted', async () => {
      const server = await bouncer(trust());
      for (const name of ['notation-jws', 'notation-cose', 'notation-jws-tsa', 'notation-cose-tsa'])
        await expectAllowed(server, name);
    });

    it('refuses a signature by another identity', async () => {
      const server = await bouncer(
        'notation:\n  trustStore: [release.acme.crt]\n  trustedIdentities: ["x509.subject: C=US, ST=WA, O=Acme"]',
      );
      await expectDenied(server, 'notation-jws', 'no Notary Project signature by a trusted identity');
      await expectDenied(server, 'notation-cose', 'no Notary Project signature by a trusted identity');
    });

    it('with a trusted TSA, admits stamped signatures and refuses unstamped ones, saying timestamp', async () => {
      const server = await bouncer(trust('\n  timestampAuthorities: [tsa-root.pem]'));
      await expectAllowed(server, 'notation-jws-tsa');
      await expectAllowed(server, 'notation-cose-tsa');
      await expectDenied(server, 'notation-jws', 'no verified timestamp');
      await expectDenied(server, 'notation-cose', 'no verified timestamp');
    });

    it('refuses signatures stamped by a TSA the policy does not trust', async () => {
      const server = await bouncer(trust('\n  timestampAuthorities: [other-tsa-root.pem]'));
      await expectDenied(server, 'notation-jws-tsa', 'no verified timestamp');
      await expectDenied(server, 'notation-cose-tsa', 'no verified timestamp');
    });

    it('counts a cosign key and a Notary Project identity toward one threshold', async () => {
      await crane.copy(`${repo('v3-bundle')}@${digests['v3-bundle']}`, `${repo('both')}:v1`);
      await notation.sign(`${repo('both')}@${digests['v3-bundle']}`);
      await cosign.sign(`${repo('both')}@${digests['v3-bundle']}`, 'ci');
      const server = await bouncer(`keys: [ci.pub]\nthreshold: 2\n${trust()}`);
      await expectAllowed(server, 'both');
      await expectDenied(server, 'v3-bundle', 'not enough trusted signatures (1 of 2)');
    });
  });

  describe('explain', () => {
    const explain = (name: string, rule: string): string => {
      const policy = writePolicy(
        `registries:\n  - {host: "${registry.host}", insecure: true}\nrules:\n  - name: signed\n    verifySignatures:\n${rule.replace(/^/gm, '      ')}`,
      );
      for (const [file, path] of Object.entries(files)) copyFileSync(path, join(dirname(policy), file));
      const { status, stdout, stderr } = runCli(['explain', `${repo(name)}:v1`, '--policy', policy]);
      expect([status, stderr]).toEqual([0, '']);
      return stdout;
    };

    it('shows each timestamp, each Notary Project signature and the count of trusted signers', () => {
      expect(
        explain(
          'v3-tsa',
          'keys: [ci.pub]\ncertificates: {timestampAuthorities: [tsa-chain.pem], requireTimestamp: true}',
        ),
      ).toMatch(
        /sigstore bundle +verified by key sha256:[0-9a-f]{16} \(ci\.pub\)\n +timestamp \S+(?: \(±\d+ ms\))? by .*CN=local tsa.*, verified\n {2}trusted signers: 1 of 1 required/,
      );
      expect(
        explain(
          'notation-cose-tsa',
          `notation:\n  trustStore: [release.acme.crt]\n  trustedIdentities: ["${RELEASE_IDENTITY}"]\n  timestampAuthorities: [tsa-root.pem]`,
        ),
      ).toMatch(
        /notation signature +verified by Notary Project identity C=US, ST=WA, L=Seattle, O=Notary, CN=release\.acme \(COSE\)\n +timestamp \S+(?: \(±\d+ ms\))? by .*CN=local tsa.*, verified/,
      );
      expect(explain('v3-twice', 'keys: [ci.pub, release.pub]\nthreshold: 2')).toMatch(
        /not verified: not enough trusted signatures \(1 of 2\)[\s\S]*trusted signers: 1 of 2 required/,
      );
    });
  });

  describe('an expired keyless certificate (cosign v3, classic layout)', () => {
    it('is admitted only with a verified timestamp inside its validity', async () => {
      // The certificate was valid when it signed; wait until it is not, which is the case itself.
      while (Date.now() <= expiresAt + 1_000) await delay(500);
      const server = await bouncer(
        `certificates:\n  caFile: fulcio-ca.pem\n  identities: [{issuer: "${GITHUB}", subject: "${WORKFLOW}"}]\n  timestampAuthorities: [tsa-chain.pem]`,
      );
      await expectAllowed(server, 'expired-stamped');
      await expectDenied(server, 'expired-unstamped', 'no signature by a trusted identity');
    });
  });
});
