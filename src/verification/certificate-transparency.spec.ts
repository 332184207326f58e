import * as x509 from '@peculiar/x509';
import * as crypto from 'node:crypto';
import { X509Certificate, createPublicKey } from 'node:crypto';
import { VerifySignaturesRule } from '../policy/rules/verify-signatures.rule';
import {
  Authority,
  EC,
  EmbeddedSct,
  HOUR,
  TransparencyLog,
  authority,
  sctListExtension,
  signedCertificateTimestamp,
  signingCertificate,
  transparencyLog,
  trustedRootDocument,
  GITHUB_ISSUER,
  WORKFLOW,
} from '../testing/cosign-fixtures';
import {
  PROVENANCE_CHAIN,
  PROVENANCE_ISSUER,
  PROVENANCE_SIGNED_AT,
  PROVENANCE_SUBJECT,
  PUBLIC_GOOD_TRUSTED_ROOT,
} from '../testing/sigstore-public-good';
import { MAX_SCTS, sctProblem } from './certificate-transparency';
import { certificateProblem } from './signature-crypto';
import { TrustedCtLog, readTrustedRoot } from './trust';

const trustedCtLog = (log: TransparencyLog, validity: Partial<TrustedCtLog> = {}): TrustedCtLog => ({
  logId: log.id.toString('hex'),
  key: createPublicKey({ key: log.spki, format: 'der', type: 'spki' }),
  ...validity,
});

const node = (der: Buffer | string): X509Certificate =>
  new X509Certificate(typeof der === 'string' ? Buffer.from(der, 'base64') : der);

describe(sctProblem.name, () => {
  const sut = sctProblem;

  describe("with sigstore's public-good instance", () => {
    const [leaf, intermediate, root] = PROVENANCE_CHAIN.map((der) => node(der));
    const { ctLogs } = readTrustedRoot(PUBLIC_GOOD_TRUSTED_ROOT, 'public-good.json');

    it('verifies the SCT Fulcio embedded, signed by the CT log the trusted root names', () => {
      expect(ctLogs).toHaveLength(2);
      expect(sut(leaf, intermediate, ctLogs)).toBeUndefined();
    });

    it("refuses it under another issuer, whose key hash the log did not sign (the root's, here)", () => {
      expect(sut(leaf, root, ctLogs)).toMatch(/its signature does not verify over this certificate/);
    });

    it("refuses it when the log's key was not valid when it was made", () => {
      const retired = ctLogs.map((log) => ({ ...log, validUntil: new Date('2023-01-01T00:00:00Z') }));

      expect(sut(leaf, intermediate, retired)).toMatch(/dated outside its log's validFor/);
    });

    it('refuses it when the trusted root names only other logs', () => {
      const others = ctLogs.filter((log) => !log.logId.startsWith('dd3d306a'));

      expect(others).toHaveLength(1);
      expect(sut(leaf, intermediate, others)).toMatch(/by a log the trusted root does not list/);
    });

    it('finds the whole certificate trusted at the time the log integrated it, and not an hour later', () => {
      const { authorities, authorityValidFor } = readTrustedRoot(
        PUBLIC_GOOD_TRUSTED_ROOT,
        'public-good.json',
      );
      const trust = {
        authorities,
        authorityValidFor,
        ctLogs,
        logs: [],
        requireTransparencyLog: false,
        identities: [{ issuer: PROVENANCE_ISSUER, subject: PROVENANCE_SUBJECT }],
      };

      expect(certificateProblem(leaf, [intermediate, root], trust, PROVENANCE_SIGNED_AT)).toBeUndefined();
      expect(
        certificateProblem(
          leaf,
          [intermediate, root],
          trust,
          new Date(PROVENANCE_SIGNED_AT.getTime() + HOUR),
        ),
      ).toMatch(/is not valid at/);
    });
  });

  describe('with a local Fulcio-like CA and CT log', () => {
    let ca: Authority;
    const ctLog = transparencyLog('ctfe.example - 2026');
    const otherLog = transparencyLog('ctfe.example - stranger');
    const logs = [trustedCtLog(ctLog)];
    const leafWith = async (scts: readonly EmbeddedSct[], issuer = ca): Promise<X509Certificate> =>
      node((await signingCertificate(issuer, { scts })).der);

    beforeAll(async () => {
      ca = await authority('test fulcio');
    });

    it('verifies an SCT that a trusted log signed over this certificate', async () => {
      expect(sut(await leafWith([{ log: ctLog }]), ca.node, logs)).toBeUndefined();
    });

    it('verifies an SCT over a certificate issued by an intermediate, hashing the intermediate key', async () => {
      const intermediate = await authority('test fulcio intermediate', ca);

      expect(sut(await leafWith([{ log: ctLog }], intermediate), intermediate.node, logs)).toBeUndefined();
    });

    it('refuses a certificate that carries no SCT', async () => {
      expect(sut(await leafWith([]), ca.node, logs)).toBe(
        "the signing certificate carries no signed certificate timestamp, which the trusted root's CT logs require",
      );
    });

    it.each<[string, () => EmbeddedSct, RegExp]>([
      [
        'a log the trusted root does not list',
        () => ({ log: otherLog }),
        /by a log the trusted root does not list/,
      ],
      [
        'another key in the name of a trusted log',
        () => ({ log: ctLog, signedBy: otherLog }),
        /its signature does not verify over this certificate/,
      ],
      [
        'a trusted log, over another certificate',
        () => ({ log: ctLog, overAnotherCertificate: true }),
        /its signature does not verify over this certificate/,
      ],
    ])('refuses an SCT by %s', async (_case, sct, reason) => {
      const problem = sut(await leafWith([sct()]), ca.node, logs);

      expect(problem).toMatch(/^no signed certificate timestamp of the signing certificate verifies/);
      expect(problem).toMatch(reason);
    });

    it("respects the log's validFor on both ends", async () => {
      const leaf = await leafWith([{ log: ctLog, timestamp: new Date('2026-06-01T00:00:00Z') }]);
      const at = (validity: Partial<TrustedCtLog>): string | undefined =>
        sut(leaf, ca.node, [trustedCtLog(ctLog, validity)]);

      expect(at({ validFrom: new Date('2026-01-01T00:00:00Z') })).toBeUndefined();
      expect(at({ validFrom: new Date('2026-07-01T00:00:00Z') })).toMatch(/dated outside its log's validFor/);
      expect(at({ validUntil: new Date('2026-05-01T00:00:00Z') })).toMatch(
        /dated outside its log's validFor/,
      );
      expect(at({ validUntil: new Date('2026-06-01T00:00:00Z') })).toBeUndefined();
    });

    it('counts one verified SCT among ones that do not verify, as sigstore-go does', async () => {
      const leaf = await leafWith([{ log: otherLog }, { log: ctLog, signedBy: otherLog }, { log: ctLog }]);

      expect(sut(leaf, ca.node, logs)).toBeUndefined();
    });

    it(`checks at most ${MAX_SCTS} SCTs, one signature each, and stops at the first that verifies`, async () => {
      const forged = Array.from({ length: MAX_SCTS + 4 }, () => ({ log: ctLog, signedBy: otherLog }));
      // The module object itself, which the code under test calls through: `import *` is a copy.
      const verify = jest.spyOn(jest.requireActual<typeof crypto>('node:crypto'), 'verify');
      try {
        const flooded = await leafWith(forged);
        verify.mockClear();
        expect(sut(flooded, ca.node, logs)).toMatch(/does not verify/);
        expect(verify).toHaveBeenCalledTimes(MAX_SCTS);

        const late = await leafWith([...forged.slice(0, MAX_SCTS), { log: ctLog }]);
        verify.mockClear();
        expect(sut(late, ca.node, logs)).toMatch(/does not verify/);

        const early = await leafWith([{ log: ctLog }, ...forged]);
        verify.mockClear();
        expect(sut(early, ca.node, logs)).toBeUndefined();
        expect(verify).toHaveBeenCalledTimes(1);
      } finally {
        verify.mockRestore();
      }
    });

    it.each<[string, (sct: Buffer) => Buffer]>([
      ['truncated', (sct) => sct.subarray(0, sct.length - 1)],
      ['followed by trailing bytes', (sct) => Buffer.concat([sct, Buffer.from([0])])],
    ])('refuses an SCT list whose entry is %s, as unreadable', async (_case, damage) => {
      const honest = await signingCertificate(ca, { scts: [{ log: ctLog }] });
      const sct = signedCertificateTimestamp(Buffer.from('tbs'), Buffer.from('issuer'), {
        log: ctLog,
        timestamp: new Date(),
      });
      const damaged = await reissueWithExtension(ca, sctListExtension([damage(sct)]));

      expect(sut(node(honest.der), ca.node, logs)).toBeUndefined();
      expect(sut(damaged, ca.node, logs)).toMatch(
        /^the signing certificate's signed certificate timestamps cannot be read/,
      );
    });
  });
});

/** A signing certificate carrying `extension` as its SCT list, whatever it holds. */
async function reissueWithExtension(ca: Authority, extension: x509.Extension): Promise<X509Certificate> {
  const keys = await crypto.webcrypto.subtle.generateKey(EC, true, ['sign', 'verify']);
  const certificate = await x509.X509CertificateGenerator.create({
    subject: 'CN=sigstore',
    issuer: ca.certificate.subject,
    publicKey: keys.publicKey,
    signingKey: ca.keys.privateKey,
    signingAlgorithm: EC,
    notBefore: new Date(Date.now() - 60_000),
    notAfter: new Date(Date.now() + HOUR),
    extensions: [extension],
  });
  return node(Buffer.from(certificate.rawData));
}

describe('SCTs as a policy asks for them', () => {
  const rule = new VerifySignaturesRule();
  const ctLog = transparencyLog('ctfe.example - 2026');
  const identities = [{ issuer: GITHUB_ISSUER, subject: WORKFLOW }];
  let ca: Authority;

  const trustFrom = (certificates: object, files: Record<string, string>) =>
    rule.compile({ certificates: { identities, ...certificates } }, { readFile: (path) => files[path] })
      .certificates!;

  beforeAll(async () => {
    ca = await authority('test fulcio');
  });

  it('requires an SCT when the trusted root lists CT logs', async () => {
    const trust = trustFrom(
      { trustedRoot: 'root.json' },
      { 'root.json': trustedRootDocument(ca, [], [ctLog]) },
    );
    const without = node((await signingCertificate(ca)).der);
    const logged = node((await signingCertificate(ca, { scts: [{ log: ctLog }] })).der);

    expect(trust.ctLogs).toHaveLength(1);
    expect(certificateProblem(without, [], trust, new Date())).toMatch(
      /carries no signed certificate timestamp/,
    );
    expect(certificateProblem(logged, [], trust, new Date())).toBeUndefined();
  });

  it.each([
    ['a caFile', { caFile: 'ca.pem' }],
    ['a trusted root whose ctlogs is empty', { trustedRoot: 'root.json' }],
  ])('can require none with %s', async (_case, certificates) => {
    const trust = trustFrom(certificates, { 'ca.pem': ca.pem, 'root.json': trustedRootDocument(ca, []) });

    expect(trust.ctLogs).toEqual([]);
    expect(
      certificateProblem(node((await signingCertificate(ca)).der), [], trust, new Date()),
    ).toBeUndefined();
  });

  it("asks the trusted root's CT logs of every certificate, the caFile's authorities' too", async () => {
    const privateCa = await authority('private ca');
    const trust = trustFrom(
      { trustedRoot: 'root.json', caFile: 'ca.pem' },
      { 'ca.pem': privateCa.pem, 'root.json': trustedRootDocument(ca, [], [ctLog]) },
    );

    expect(
      certificateProblem(node((await signingCertificate(privateCa)).der), [], trust, new Date()),
    ).toMatch(/carries no signed certificate timestamp/);
  });
});
