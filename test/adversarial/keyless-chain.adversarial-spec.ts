import { parseNormalizedReference } from '../../src/image-reference';
import { VerifySignaturesRule } from '../../src/policy/rules/verify-signatures.rule';
import {
  Authority,
  EmbeddedSct,
  GITHUB_ISSUER,
  SigningCertificate,
  WORKFLOW,
  authority,
  deadlineIn,
  signingCertificate,
  transparencyLog,
  trustedRootDocument,
} from '../../src/testing/cosign-fixtures';
import { verifierOverFakeRegistry } from '../../src/testing/verifier-over-fake-registry';
import { VerificationResult } from '../../src/verification';

/**
 * Class 11 of issue 23: a signer whose keyless certificate sigstore's own verifiers (sigstore-go,
 * sigstore-js, cosign) would refuse. The policy trusts a TrustedRoot that lists a CT log, like
 * sigstore's public-good one; each test signs one image honestly and one as the attacker would,
 * through cosign's classic layout with the certificate chain in its annotation, and the verifier
 * must count only the first. SECURITY.md, "Keyless certificates".
 */
describe('keyless certificates a hostile signer presents', () => {
  const fake = verifierOverFakeRegistry('keyless/app');
  const { cosign, target } = fake;
  const rule = new VerifySignaturesRule();
  const ctLog = transparencyLog('ctfe.example - 2026');
  const strangerLog = transparencyLog('ctfe.attacker.example');
  let root: Authority;
  let fulcio: Authority;

  beforeAll(async () => {
    root = await authority('test fulcio root');
    // Fulcio's intermediate: a CA for code signing, with no intermediate allowed below it.
    fulcio = await authority('test fulcio intermediate', root, { usages: ['1.3.6.1.5.5.7.3.3'] });
  });

  /**
   * Whether `verifySignatures` with this trusted root (Fulcio's chain, the CT log) counts a classic
   * signature by `certificate`, carrying `chain` as cosign's chain annotation does.
   */
  async function verdict(
    certificate: SigningCertificate,
    chain: readonly Authority[],
    trustedChain: readonly Authority[] = [fulcio, root],
  ): Promise<VerificationResult & { finding?: string }> {
    const { repository } = fake;
    const digest = cosign.image(repository);
    const layer = cosign.classicSignature(repository, digest, certificate.privateKey);
    cosign.pushSignatures(repository, digest, [
      { ...layer, certificate: certificate.pem, chain: chain.map((a) => a.pem).join('\n') },
    ]);
    const files: Record<string, string> = {
      'trusted_root.json': trustedRootDocument(trustedChain, [], [ctLog]),
    };
    const trust = rule.compile(
      {
        certificates: {
          trustedRoot: 'trusted_root.json',
          identities: [{ issuer: GITHUB_ISSUER, subject: WORKFLOW }],
        },
      },
      { readFile: (path) => files[path] },
    );
    const result = await fake.sut.verify(target(digest), rule.verification(trust), deadlineIn());
    const finding = rule.check(parseNormalizedReference(`example.com/${repository}@${digest}`), trust, {
      verification: result,
    });
    return { ...result, finding: finding?.problem };
  }

  const logged: EmbeddedSct[] = [{ log: ctLog }];
  const refused = { verified: false, reason: 'no signature by a trusted identity' };

  it('refuses a certificate without an SCT when the trusted root lists CT logs', async () => {
    expect((await verdict(await signingCertificate(fulcio, { scts: logged }), [fulcio, root])).verified).toBe(
      true,
    );

    const unlogged = await verdict(await signingCertificate(fulcio), [fulcio, root]);

    expect(unlogged).toMatchObject(refused);
    expect(unlogged.finding).toBe('has no verified signature: no signature by a trusted identity');
    expect(unlogged.detail).toContain('carries no signed certificate timestamp');
  });

  it('refuses an SCT by a CT log the trusted root does not list', async () => {
    const result = await verdict(await signingCertificate(fulcio, { scts: [{ log: strangerLog }] }), [
      fulcio,
      root,
    ]);

    expect(result).toMatchObject(refused);
    expect(result.detail).toContain('by a log the trusted root does not list');
  });

  it('refuses an SCT the trusted CT log made over another certificate', async () => {
    const result = await verdict(
      await signingCertificate(fulcio, { scts: [{ log: ctLog, overAnotherCertificate: true }] }),
      [fulcio, root],
    );

    expect(result).toMatchObject(refused);
    expect(result.detail).toContain('its signature does not verify over this certificate');
  });

  it('refuses a leaf issued by an intermediate without CA=true, even one the trusted root lists', async () => {
    // A certificate that is not a CA, listed as Fulcio's intermediate is: whoever holds its key
    // could otherwise mint a certificate for any identity.
    const notCa = await authority('a signing certificate in the trusted chain', root, { ca: false });
    const honestCa = await authority('test fulcio intermediate 2', root);
    expect(
      (await verdict(await signingCertificate(honestCa, { scts: logged }), [], [honestCa, root])).verified,
    ).toBe(true);

    const listed = await verdict(await signingCertificate(notCa, { scts: logged }), [], [notCa, root]);
    const carried = await verdict(await signingCertificate(notCa, { scts: logged }), [notCa, root], [root]);

    for (const result of [listed, carried]) {
      expect(result).toMatchObject(refused);
      expect(result.detail).toContain('an issuing certificate in its chain is not a certificate authority');
    }
  });

  it("refuses a chain that breaks an issuer's path length constraint (a CA below Fulcio's pathLen 0)", async () => {
    const subordinate = await authority('a CA below fulcio', fulcio, { pathLength: null });

    const result = await verdict(await signingCertificate(subordinate, { scts: logged }), [
      subordinate,
      fulcio,
      root,
    ]);

    expect(result).toMatchObject(refused);
    expect(result.detail).toContain("its chain breaks an issuing certificate's path length constraint");
  });

  it('refuses a leaf without the code-signing extended key usage, and one without any', async () => {
    const serverOnly = await verdict(
      await signingCertificate(fulcio, { scts: logged, usages: ['1.3.6.1.5.5.7.3.1'] }),
      [fulcio, root],
    );
    const none = await verdict(await signingCertificate(fulcio, { scts: logged, usages: null }), [
      fulcio,
      root,
    ]);

    for (const result of [serverOnly, none]) {
      expect(result).toMatchObject(refused);
      expect(result.detail).toContain('the signing certificate is not for code signing');
    }
  });
});
