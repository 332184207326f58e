import { Logger } from '@nestjs/common';
import * as x509 from '@peculiar/x509';
import crypto, { X509Certificate, createPublicKey, randomBytes, sign, webcrypto } from 'node:crypto';
import { RegistryDeadline } from '../../src/registry';
import {
  BUNDLE,
  EC,
  HOUR,
  GITHUB_ISSUER,
  IN_TOTO,
  SLSA,
  SigningCertificate,
  TransparencyLog,
  WORKFLOW,
  authority,
  b64,
  byCaFile,
  byKeys,
  certificateBundle,
  deadlineIn,
  dsseEntryBody,
  envelopeOf,
  keyPair,
  logEntry,
  pae,
  signingCertificate,
  keylessTrust,
  transparencyLog,
} from '../../src/testing/cosign-fixtures';
import { sha256 } from '../../src/testing/fake-registry';
import { verifierOverFakeRegistry } from '../../src/testing/verifier-over-fake-registry';
import { ImageVerifier, SignatureTrust, VerificationRequest } from '../../src/verification';
import type { DsseEnvelope, TlogEntry } from '../../src/verification/cosign-evidence';

const MiB = 1024 * 1024;
/** The extended key usage Fulcio writes into signing certificates and its intermediate. */
const CODE_SIGNING = '1.3.6.1.5.5.7.3.3';

/** The padding every large payload here carries, which only its decoded bytes (not the blob's base64) contain. */
const PADDING = 'x'.repeat(MiB);
const PADDING_MARK = Buffer.from(PADDING.slice(0, 4096));

interface CryptoMeter {
  /** `crypto.verify` calls: signature checks, each of which hashes what it checks. */
  checks: number;
  /** Times the decoded payload went through a hash: inside a signature check, or a `createHash`. */
  payloadHashes: number;
  onCheck?: () => void;
}

/**
 * Counts what verification costs, through `node:crypto` itself. A payload is recognised by its
 * padding, so the registry client's digest check of the blob (base64 JSON) is not counted as one.
 */
function meterCrypto(): CryptoMeter {
  const meter: CryptoMeter = { checks: 0, payloadHashes: 0 };
  const carriesPayload = (data: unknown): boolean =>
    Buffer.isBuffer(data) && data.length >= MiB && data.includes(PADDING_MARK);
  const verify = crypto.verify.bind(crypto) as (...args: unknown[]) => boolean;
  const createHash = crypto.createHash.bind(crypto);
  jest.spyOn(crypto, 'verify').mockImplementation((...args: unknown[]) => {
    meter.checks++;
    if (carriesPayload(args[1])) meter.payloadHashes++;
    meter.onCheck?.();
    return verify(...args);
  });
  jest.spyOn(crypto, 'createHash').mockImplementation((algorithm: string, options?: crypto.HashOptions) => {
    const hash = createHash(algorithm, options);
    const update = hash.update.bind(hash) as (data: unknown, encoding?: unknown) => crypto.Hash;
    hash.update = (data: string | Buffer, encoding?: crypto.Encoding) => {
      if (carriesPayload(data)) meter.payloadHashes++;
      return update(data, encoding);
    };
    return hash;
  });
  return meter;
}

/** How cosign and sigstore-go name a key in a hint: the base64 SHA-256 of its SubjectPublicKeyInfo. */
const hintOf = (pem: string, encoding: 'base64' | 'hex' = 'base64'): string =>
  sha256(createPublicKey(pem).export({ type: 'spki', format: 'der' })).toString(encoding);

/**
 * Class 3 of SECURITY.md's hostile inputs: evidence built to burn CPU. Pinned by counts of
 * `node:crypto` calls (signature checks, hashes of the payload) and of artifacts read, never by a
 * time; one test per budget.
 */
describe('CPU amplification', () => {
  const fake = verifierOverFakeRegistry('hostile/cpu');
  const { registry, cosign, target } = fake;
  const ci = keyPair();
  const stranger = keyPair();
  const other = keyPair();
  let sut: ImageVerifier;
  let repository: string;
  const attestations = (trust: SignatureTrust = byKeys(ci.publicPem)): VerificationRequest => ({
    kind: 'attestations',
    trust,
    predicateType: SLSA,
  });
  const signatures = (trust: SignatureTrust = byKeys(ci.publicPem)): VerificationRequest => ({
    kind: 'signatures',
    trust,
  });

  /** An SLSA statement about `digest` padded to about `bytes`, like a large SBOM. */
  const bigStatement = (digest: string, bytes: number): object => ({
    ...cosign.statement(repository, digest, SLSA),
    predicate: { builder: { id: 'https://ci.example' }, padding: PADDING.slice(0, bytes) },
  });
  /** A DSSE envelope over `statement` whose signatures are `signatures` (some by `ci` where asked). */
  const envelopeWith = (statement: object, signatures: DsseEnvelope['signatures']): DsseEnvelope => ({
    payloadType: IN_TOTO,
    payload: b64(Buffer.from(JSON.stringify(statement))),
    signatures,
  });
  const signatureBy = (envelope: DsseEnvelope, key: crypto.KeyObject, keyid?: string) => ({
    sig: b64(sign('sha256', pae(envelope.payloadType, Buffer.from(envelope.payload, 'base64')), key)),
    ...(keyid !== undefined ? { keyid } : {}),
  });
  /** Real ECDSA signatures, well formed in every way, that no trusted key made over anything here. */
  const strangersSignatures = (count: number): { sig: string }[] =>
    Array.from({ length: count }, (_, i) => ({
      sig: b64(sign('sha256', Buffer.from(`junk ${i}`), stranger.privateKey)),
    }));

  beforeAll(() => {
    Logger.overrideLogger(false);
  });
  beforeEach(() => ({ sut, repository } = fake));

  afterEach(() => {
    jest.restoreAllMocks();
  });

  it('spends no signature check and no hash on an envelope of 1 MiB with thousands of empty signatures', async () => {
    const digest = cosign.image(repository);
    const envelope = envelopeWith(
      bigStatement(digest, MiB),
      Array.from({ length: 3000 }, () => ({ sig: '' })),
    );
    cosign.pushAttestations(repository, digest, [{ envelope, predicateType: SLSA }]);
    const meter = meterCrypto();

    const result = await sut.verify(
      target(digest),
      attestations(byKeys(stranger.publicPem, ci.publicPem)),
      deadlineIn(60_000),
    );

    expect(meter).toMatchObject({ checks: 0, payloadHashes: 0 });
    expect(result).toMatchObject({
      verified: false,
      reason: `no attestation of type ${SLSA} by a trusted key`,
    });
    expect(result.evidence).toEqual([
      { where: 'att tag', problem: 'not signed by a trusted key', predicateType: SLSA },
      { where: 'att tag', problem: 'malformed artifact: a signature that is empty (32 times)' },
      {
        where: 'att tag',
        problem: 'malformed artifact: 2968 signatures past the budget of 32 per envelope, not read',
      },
    ]);
  });

  it("refuses signatures that are not of a trusted key's form (not DER, wrong length) before any crypto", async () => {
    const digest = cosign.image(repository);
    const raw = sign('sha256', Buffer.from('x'), { key: stranger.privateKey, dsaEncoding: 'ieee-p1363' });
    const envelope = envelopeWith(bigStatement(digest, MiB), [
      ...Array.from({ length: 10 }, () => ({ sig: b64(randomBytes(70)) })),
      ...Array.from({ length: 10 }, () => ({ sig: b64(raw) })),
      ...Array.from({ length: 10 }, () => ({ sig: b64(randomBytes(256)) })),
    ]);
    cosign.pushAttestations(repository, digest, [{ envelope, predicateType: SLSA }]);
    const meter = meterCrypto();

    const result = await sut.verify(
      target(digest),
      attestations(byKeys(stranger.publicPem, ci.publicPem)),
      deadlineIn(60_000),
    );

    expect(meter).toMatchObject({ checks: 0, payloadHashes: 0 });
    expect(result).toMatchObject({
      verified: false,
      reason: `no attestation of type ${SLSA} by a trusted key`,
    });
    expect(result.evidence).toEqual([
      { where: 'att tag', problem: 'not signed by a trusted key', predicateType: SLSA },
    ]);
  });

  it('checks a signature against the key its DSSE keyid names first, and stops at the first that verifies', async () => {
    const digest = cosign.image(repository);
    const unsigned = envelopeWith(bigStatement(digest, MiB), []);
    const envelope = {
      ...unsigned,
      signatures: [signatureBy(unsigned, ci.privateKey, hintOf(ci.publicPem, 'hex'))],
    };
    cosign.pushAttestations(repository, digest, [{ envelope, predicateType: SLSA }]);
    const meter = meterCrypto();

    const result = await sut.verify(
      target(digest),
      attestations(byKeys(stranger.publicPem, other.publicPem, ci.publicPem)),
      deadlineIn(60_000),
    );

    expect(result.verified).toBe(true);
    expect(meter).toMatchObject({ checks: 1, payloadHashes: 1 });
  });

  it("checks a bundle's signature against the key its publicKey.hint names first", async () => {
    const digest = cosign.image(repository);
    const statement = {
      ...cosign.imageSignatureStatement(repository, digest),
      predicate: { padding: PADDING },
    };
    const envelope = envelopeOf(statement, ci.privateKey);
    cosign.pushBundle(repository, digest, {
      mediaType: BUNDLE,
      verificationMaterial: { publicKey: { hint: hintOf(ci.publicPem) } },
      dsseEnvelope: envelope,
    });
    const meter = meterCrypto();

    const result = await sut.verify(
      target(digest),
      signatures(byKeys(stranger.publicPem, other.publicPem, ci.publicPem)),
      deadlineIn(60_000),
    );

    expect(result.verified).toBe(true);
    expect(meter).toMatchObject({ checks: 1, payloadHashes: 1 });
  });

  describe('with transparency-log entries', () => {
    let log: TransparencyLog;
    let certificate: SigningCertificate;
    let trust: SignatureTrust;

    beforeAll(async () => {
      ({
        logs: [log],
        certificate,
        trust,
      } = await keylessTrust());
    });

    /** A keyless bundle over a 1 MiB statement, its log entries made by `entries` from the envelope. */
    const pushLogged = (digest: string, entries: (envelope: DsseEnvelope) => TlogEntry[]): void => {
      const statement = {
        ...cosign.imageSignatureStatement(repository, digest),
        predicate: { padding: PADDING },
      };
      const envelope = envelopeOf(statement, certificate.privateKey);
      cosign.pushBundle(repository, digest, certificateBundle(envelope, certificate, entries(envelope)));
    };

    it('hashes the payload once for a bundle with thousands of log entries, and stops at the first that proves it', async () => {
      const digest = cosign.image(repository);
      pushLogged(digest, (envelope) => {
        const entry = logEntry(log, dsseEntryBody(envelope, certificate.pem));
        return Array.from({ length: 2000 }, () => entry);
      });
      const meter = meterCrypto();

      const result = await sut.verify(target(digest), signatures(trust), deadlineIn(60_000));

      expect(result.verified).toBe(true);
      // One hash of the payload for the log entries, one inside the signature check of its encoding.
      expect(meter.payloadHashes).toBe(2);
      // The first entry's checkpoint, then the signature.
      expect(meter.checks).toBe(2);
      expect(result.evidence).toContainEqual({
        where: 'sigstore bundle',
        problem:
          'malformed artifact: 1968 transparency-log entries past the budget of 32 per bundle, not read',
      });
    });
  });

  it('answers a concurrent honest verification while a hostile one is still being judged', async () => {
    const honest = cosign.image(repository);
    cosign.pushSignatures(repository, honest, [cosign.classicSignature(repository, honest, ci.privateKey)]);
    const hostile = cosign.image(repository);
    const junk = strangersSignatures(32);
    cosign.pushAttestations(
      repository,
      hostile,
      Array.from({ length: 100 }, (_, i) => ({
        envelope: envelopeWith({ ...cosign.statement(repository, hostile, SLSA), n: i }, junk),
        predicateType: SLSA,
      })),
    );
    const meter = meterCrypto();
    const answered: string[] = [];
    // The honest review arrives once the hostile one has begun checking signatures.
    const honestAnswered = new Promise<void>((resolve) => {
      meter.onCheck = () => {
        meter.onCheck = undefined;
        setImmediate(() =>
          resolve(
            sut.verify(target(honest), signatures(), deadlineIn(60_000)).then((result) => {
              answered.push(result.verified ? 'honest, verified' : 'honest, not verified');
            }),
          ),
        );
      };
    });

    await Promise.all([
      sut.verify(target(hostile), attestations(), deadlineIn(60_000)).then(() => answered.push('hostile')),
      honestAnswered,
    ]);

    expect(answered).toEqual(['honest, verified', 'hostile']);
  });

  describe('budgets', () => {
    it('reads at most 32 signatures per envelope, listing the rest as malformed', async () => {
      const digest = cosign.image(repository);
      const unsigned = envelopeWith(cosign.statement(repository, digest, SLSA), []);
      const envelope = {
        ...unsigned,
        signatures: [...strangersSignatures(40), signatureBy(unsigned, ci.privateKey)],
      };
      cosign.pushAttestations(repository, digest, [{ envelope, predicateType: SLSA }]);
      const meter = meterCrypto();

      const result = await sut.verify(target(digest), attestations(), deadlineIn(60_000));

      expect(meter.checks).toBe(32);
      expect(result.verified).toBe(false);
      expect(result.evidence).toContainEqual({
        where: 'att tag',
        problem: 'malformed artifact: 9 signatures past the budget of 32 per envelope, not read',
      });
    });

    it('reads at most 100 artifacts per image, the classic tag first, listing the rest as malformed', async () => {
      const digest = cosign.image(repository);
      const good = cosign.classicSignature(repository, digest, ci.privateKey);
      const layers = Array.from({ length: 150 }, (_, i) =>
        i === 60 ? good : cosign.classicSignature(repository, digest, stranger.privateKey),
      );
      cosign.pushSignatures(repository, digest, layers);
      registry.requests.length = 0;

      const result = await sut.verify(target(digest), signatures(), deadlineIn(60_000));

      expect(registry.requests.filter((r) => r.includes('/blobs/'))).toHaveLength(100);
      expect(result.verified).toBe(true);
      expect(result.evidence).toContainEqual({
        where: 'sig tag',
        problem: 'malformed artifact: 50 past the budget of 100 artifacts per image, not read',
      });
    });

    it('reads at most 32 log entries per bundle', async () => {
      const {
        logs: [log],
        certificate,
        trust,
      } = await keylessTrust();
      const digest = cosign.image(repository);
      const envelope = envelopeOf(cosign.imageSignatureStatement(repository, digest), certificate.privateKey);
      const proven = logEntry(log, dsseEntryBody(envelope, certificate.pem));
      // Entries whose checkpoints the log did not sign, each costing a check, and the proven one last.
      const forged = logEntry(
        log,
        dsseEntryBody(envelope, certificate.pem),
        transparencyLog('rekor.example - 1'),
      );
      cosign.pushBundle(
        repository,
        digest,
        certificateBundle(envelope, certificate, [...Array.from({ length: 40 }, () => forged), proven]),
      );
      const meter = meterCrypto();

      const result = await sut.verify(target(digest), signatures(trust), deadlineIn(60_000));

      expect(meter.checks).toBe(32);
      expect(result.verified).toBe(false);
      expect(result.evidence).toContainEqual({
        where: 'sigstore bundle',
        problem: 'malformed artifact: 9 transparency-log entries past the budget of 32 per bundle, not read',
      });
    });

    it('makes at most 256 signature checks per verification, listing the signatures left unchecked', async () => {
      const digest = cosign.image(repository);
      const junk = strangersSignatures(32);
      cosign.pushAttestations(
        repository,
        digest,
        Array.from({ length: 10 }, (_, i) => ({
          envelope: envelopeWith({ ...cosign.statement(repository, digest, SLSA), n: i }, junk),
          predicateType: SLSA,
        })),
      );
      const meter = meterCrypto();

      const result = await sut.verify(target(digest), attestations(), deadlineIn(60_000));

      expect(meter.checks).toBe(256);
      expect(result.evidence).toContainEqual({
        where: 'att tag',
        problem:
          'malformed artifact: 64 signatures not checked: the budget of 256 signature checks per verification (1024 per review) ran out',
      });
    });

    it('makes at most 1024 signature checks per review, and does not cache a verdict that budget cut short', async () => {
      const junk = strangersSignatures(32);
      const digests = Array.from({ length: 5 }, () => {
        const digest = cosign.image(repository);
        cosign.pushAttestations(
          repository,
          digest,
          Array.from({ length: 10 }, (_, i) => ({
            envelope: envelopeWith({ ...cosign.statement(repository, digest, SLSA), n: i }, junk),
            predicateType: SLSA,
          })),
        );
        return digest;
      });
      const review: RegistryDeadline = deadlineIn(60_000);
      const meter = meterCrypto();

      // One after another, so that which verification the review's budget cuts short is certain;
      // the engine runs them at once, and then every one it cuts short goes uncached.
      const inReview = [];
      for (const digest of digests) inReview.push(await sut.verify(target(digest), attestations(), review));
      const checksInReview = meter.checks;
      const again = await Promise.all(
        digests.map((digest) => sut.verify(target(digest), attestations(), deadlineIn(60_000))),
      );

      expect(checksInReview).toBe(1024);
      expect(inReview[4].evidence).toContainEqual({
        where: 'att tag',
        problem:
          'malformed artifact: 320 signatures not checked: the budget of 256 signature checks per verification (1024 per review) ran out',
      });
      // The first four spent their own budget, a fact about their images, and were cached; the fifth was not.
      expect(again.map((r) => r.cache)).toEqual(['hit', 'hit', 'hit', 'hit', 'miss']);
    });

    it('makes no signature check once the review deadline has passed', async () => {
      const digest = cosign.image(repository);
      const junk = strangersSignatures(32);
      cosign.pushAttestations(
        repository,
        digest,
        Array.from({ length: 10 }, (_, i) => ({
          envelope: envelopeWith({ ...cosign.statement(repository, digest, SLSA), n: i }, junk),
          predicateType: SLSA,
        })),
      );
      const deadline: RegistryDeadline = {
        signal: new AbortController().signal,
        deadlineAt: Date.now() + 60_000,
      };
      const meter = meterCrypto();
      const now = Date.now.bind(Date);
      let checksBeforeDeadline: number | undefined;
      meter.onCheck = () => {
        if (meter.checks < 10) return;
        meter.onCheck = undefined;
        checksBeforeDeadline = meter.checks;
        jest.spyOn(Date, 'now').mockImplementation(() => now() + 120_000);
      };

      const result = await sut.verify(target(digest), attestations(), deadline);

      expect(checksBeforeDeadline).toBe(10);
      expect(meter.checks).toBe(10);
      expect(result).toMatchObject({
        verified: false,
        reason: 'registry timed out',
        registryFailure: 'timed out',
      });
    });

    it('reads at most 10 chain certificates per signature', async () => {
      const ca = await authority('test fulcio');
      const certificate = await signingCertificate(ca);
      const digest = cosign.image(repository);
      const layer = cosign.classicSignature(repository, digest, certificate.privateKey);
      cosign.pushSignatures(repository, digest, [
        {
          ...layer,
          certificate: certificate.pem,
          chain: Array.from({ length: 50 }, () => ca.pem).join('\n'),
        },
      ]);
      const trust = byCaFile([ca], [{ issuer: GITHUB_ISSUER, subject: WORKFLOW }]);

      const result = await sut.verify(target(digest), signatures(trust), deadlineIn(60_000));

      expect(result.verified).toBe(true);
      expect(result.evidence).toContainEqual({
        where: 'sig tag',
        problem: 'malformed artifact: 40 chain certificates past the budget of 10 per signature, not read',
      });
    });

    it("pays every link of a keyless chain from the same 256 checks: a chain named after the trusted CA's, signed by the signer's own key", async () => {
      const root = await authority('test fulcio root');
      const fulcio = await authority('test fulcio intermediate', root, { usages: [CODE_SIGNING] });
      // The signer's own CAs, each named as Fulcio's intermediate is and signed by one key, so that
      // every link is first tried against the trusted CA (names match, no key identifier to tell
      // them apart) and then verifies against the next of them: two certificate signatures a link.
      const attacker = await webcrypto.subtle.generateKey(EC, true, ['sign', 'verify']);
      const validity = { notBefore: new Date(Date.now() - HOUR), notAfter: new Date(Date.now() + HOUR) };
      const lookalikes = await Promise.all(
        Array.from({ length: 5 }, () =>
          x509.X509CertificateGenerator.create({
            subject: fulcio.certificate.subject,
            issuer: fulcio.certificate.subject,
            publicKey: attacker.publicKey,
            signingKey: attacker.privateKey,
            signingAlgorithm: EC,
            ...validity,
            extensions: [new x509.BasicConstraintsExtension(true, undefined, true)],
          }),
        ),
      );
      const leafKeys = await webcrypto.subtle.generateKey(EC, true, ['sign', 'verify']);
      const leaf = await x509.X509CertificateGenerator.create({
        subject: 'CN=sigstore',
        issuer: fulcio.certificate.subject,
        publicKey: leafKeys.publicKey,
        signingKey: attacker.privateKey,
        signingAlgorithm: EC,
        ...validity,
        extensions: [
          new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
          new x509.ExtendedKeyUsageExtension([CODE_SIGNING]),
          new x509.SubjectAlternativeNameExtension([{ type: 'url', value: WORKFLOW }]),
        ],
      });
      const leafKey = crypto.KeyObject.from(leafKeys.privateKey);
      const digest = cosign.image(repository);
      const layer = cosign.classicSignature(repository, digest, leafKey);
      const chain = lookalikes.map((certificate) => certificate.toString('pem')).join('\n');
      cosign.pushSignatures(
        repository,
        digest,
        Array.from({ length: 100 }, () => ({ ...layer, certificate: leaf.toString('pem'), chain })),
      );
      const trust = byCaFile([fulcio, root], [{ issuer: GITHUB_ISSUER, subject: WORKFLOW }]);
      const meter = meterCrypto();
      let chainChecks = 0;
      const verifyCertificate = X509Certificate.prototype.verify;
      jest.spyOn(X509Certificate.prototype, 'verify').mockImplementation(function (
        this: X509Certificate,
        key: crypto.KeyObject,
      ) {
        chainChecks++;
        return verifyCertificate.call(this, key);
      });

      const result = await sut.verify(target(digest), signatures(trust), deadlineIn(60_000));

      expect(result.verified).toBe(false);
      expect(meter.checks + chainChecks).toBeLessThanOrEqual(256);
    });

    it('does not walk an inclusion proof longer than any tree needs (64 hashes)', async () => {
      const {
        logs: [log],
        certificate,
        trust,
      } = await keylessTrust();
      const digest = cosign.image(repository);
      const envelope = envelopeOf(cosign.imageSignatureStatement(repository, digest), certificate.privateKey);
      const entry = logEntry(log, dsseEntryBody(envelope, certificate.pem));
      const long = {
        ...entry,
        inclusionProof: {
          ...entry.inclusionProof,
          hashes: Array.from({ length: 5000 }, () => b64(randomBytes(32))),
        },
      };
      cosign.pushBundle(repository, digest, certificateBundle(envelope, certificate, [long]));
      const meter = meterCrypto();

      const result = await sut.verify(target(digest), signatures(trust), deadlineIn(60_000));
      const hashes = (crypto.createHash as jest.Mock).mock.calls.length;

      expect(result).toMatchObject({ verified: false, reason: 'no transparency-log inclusion proof' });
      expect(hashes).toBeLessThan(64);
      expect(meter.checks).toBe(0);
      expect(result.evidence).toContainEqual({
        where: 'sigstore bundle',
        problem:
          'malformed artifact: a transparency-log entry whose inclusion proof is longer than any tree needs',
      });
    });

    it('reads at most 16 signature lines of a checkpoint', async () => {
      const {
        logs: [log],
        certificate,
        trust,
      } = await keylessTrust();
      const impostor = transparencyLog('rekor.example - 1');
      const digest = cosign.image(repository);
      const envelope = envelopeOf(cosign.imageSignatureStatement(repository, digest), certificate.privateKey);
      // A checkpoint whose note is signed a thousand times under the log's key hint, never by the log.
      const entry = logEntry(log, dsseEntryBody(envelope, certificate.pem), impostor);
      const checkpoint = entry.inclusionProof!.checkpoint!.envelope!;
      const line = checkpoint.slice(checkpoint.indexOf('\n\n') + 2);
      const flooded = {
        ...entry,
        inclusionProof: { ...entry.inclusionProof, checkpoint: { envelope: checkpoint + line.repeat(1000) } },
      };
      cosign.pushBundle(repository, digest, certificateBundle(envelope, certificate, [flooded]));
      const meter = meterCrypto();

      const result = await sut.verify(target(digest), signatures(trust), deadlineIn(60_000));

      expect(result.verified).toBe(false);
      expect(meter.checks).toBe(16);
    });

    it('reads at most 1024 subjects of a statement', async () => {
      const digest = cosign.image(repository);
      const statement = cosign.statement(repository, digest, SLSA) as { subject: object[] };
      const others = Array.from({ length: 1024 }, () => ({
        name: 'x',
        digest: { sha256: randomBytes(32).toString('hex') },
      }));
      const envelope = envelopeOf(
        { ...statement, subject: [...others, ...statement.subject] },
        ci.privateKey,
      );
      cosign.pushAttestations(repository, digest, [{ envelope, predicateType: SLSA }]);

      const result = await sut.verify(target(digest), attestations(), deadlineIn(60_000));

      expect(result).toMatchObject({ verified: false, reason: 'attestation for another digest' });
    });
  });
});
