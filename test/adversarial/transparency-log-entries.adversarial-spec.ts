import { Logger } from '@nestjs/common';
import { createPublicKey } from 'node:crypto';
import {
  SigningCertificate,
  certificateBundle,
  deadlineIn,
  dsseEntryBody,
  dsseV002EntryBody,
  envelopeOf,
  logEntry,
  logEntryV2,
  rekorV2Log,
  signingCertificate,
  transparencyLog,
} from '../../src/testing/cosign-fixtures';
import { keylessVerifierOverFakeRegistry } from '../../src/testing/verifier-over-fake-registry';
import { DsseEnvelope, TlogEntry } from '../../src/verification';

/**
 * A signer who holds a trusted identity's signing key and wants `requireTransparencyLog` met
 * without the identity's certificate ever appearing in the log, where its owner's monitor would see
 * it: the log entry records the very signature and payload, but under another verifier (the bare
 * public key, or a certificate of someone else's). The log vouches for the pair it recorded, so the
 * entry counts only when its verifier is the bundle's own certificate, as sigstore-go requires
 * ("transparency log certificate does not match").
 */
describe('a transparency-log entry recording the signature under another verifier', () => {
  const rekor = transparencyLog('rekor.example - 1');
  const rekorV2 = rekorV2Log('log2026-1.rekor.example');
  const fake = keylessVerifierOverFakeRegistry('demo/logged', () => [rekor, rekorV2]);
  const { cosign, target } = fake;
  let victim: SigningCertificate;
  let mallory: SigningCertificate;

  /** The verdict on a keyless bundle by the victim's certificate, with the log entry `entryFor` makes. */
  const verdict = async (entryFor: (envelope: DsseEnvelope) => TlogEntry) => {
    const { repository } = fake;
    const digest = cosign.image(repository);
    const envelope = envelopeOf(cosign.imageSignatureStatement(repository, digest), victim.privateKey);
    cosign.pushBundle(repository, digest, certificateBundle(envelope, victim, [entryFor(envelope)]));
    return fake.sut.verify(target(digest), { kind: 'signatures', trust: fake.keyless.trust }, deadlineIn());
  };

  beforeAll(async () => {
    Logger.overrideLogger(false);
    victim = fake.keyless.certificate;
    mallory = await signingCertificate(fake.keyless.fulcio, {
      subject: 'https://github.com/mallory/x/.github/workflows/ci.yml@refs/heads/main',
    });
  });

  it('the honest entry, for contrast: its verifier is the bundle’s certificate, in Rekor v1 and v2', async () => {
    expect((await verdict((e) => logEntry(rekor, dsseEntryBody(e, victim.pem)))).verified).toBe(true);
    expect(
      (await verdict((e) => logEntryV2(rekorV2, dsseV002EntryBody(e, { certificate: victim.der })))).verified,
    ).toBe(true);
  });

  it('a Rekor v1 entry whose verifier is the bare public key, or another identity’s certificate, proves nothing', async () => {
    const bareKey = createPublicKey(victim.privateKey).export({ type: 'spki', format: 'pem' }).toString();

    const bare = await verdict((e) => logEntry(rekor, dsseEntryBody(e, bareKey)));
    const someoneElse = await verdict((e) => logEntry(rekor, dsseEntryBody(e, mallory.pem)));

    for (const result of [bare, someoneElse]) {
      expect(result.verified).toBe(false);
      expect(result.detail).toContain('the transparency-log entry records another signer');
    }
  });

  it('a Rekor v2 entry whose verifier is the bare public key, or another certificate, proves nothing', async () => {
    const spki = createPublicKey(victim.privateKey).export({ type: 'spki', format: 'der' });

    const bare = await verdict((e) => logEntryV2(rekorV2, dsseV002EntryBody(e, spki)));
    const someoneElse = await verdict((e) =>
      logEntryV2(rekorV2, dsseV002EntryBody(e, { certificate: mallory.der })),
    );

    for (const result of [bare, someoneElse]) {
      expect(result.verified).toBe(false);
      expect(result.detail).toContain('the transparency-log entry records another signer');
    }
  });
});
