import { SLSA, byKeys, envelopeOf, keyPair } from '../testing/cosign-fixtures';
import type { VerificationRequest } from './image-verifier.service';
import { LocalAttestation, verifyLocalAttestations } from './local-attestations';
import { trustedKey } from './trust';

describe(verifyLocalAttestations.name, () => {
  const ci = keyPair();
  const stranger = keyPair();
  const DIGEST = `sha256:${'a'.repeat(64)}`;
  const OTHER = `sha256:${'b'.repeat(64)}`;
  const statement = (digest = DIGEST, predicateType = SLSA) => ({
    _type: 'https://in-toto.io/Statement/v1',
    predicateType,
    subject: [{ name: 'app', digest: { sha256: digest.slice(7) } }],
    predicate: { runDetails: { builder: { id: 'https://ci' } } },
  });
  const request = (trust = byKeys(ci.publicPem)): Extract<VerificationRequest, { kind: 'attestations' }> => ({
    kind: 'attestations',
    trust,
    predicateType: SLSA,
    keepStatements: true,
  });

  it('takes a statement file as verified, for the image it names', async () => {
    const files: LocalAttestation[] = [{ file: 'prov.json', statement: statement() }];

    const result = await verifyLocalAttestations(files, request(), DIGEST);

    expect(result).toMatchObject({ verified: true, digest: DIGEST });
    expect(result.attestations).toEqual([
      {
        where: 'attestation file',
        verifiedBy: 'the statement file prov.json',
        predicateType: SLSA,
        statement: statement(),
        signer: {
          id: 'the statement file prov.json',
          names: ['the statement file prov.json'],
          entries: ['the statement file prov.json'],
        },
      },
    ]);
  });

  it('does not count a statement for another digest, or of another type', async () => {
    const files: LocalAttestation[] = [
      { file: 'other.json', statement: statement(OTHER) },
      { file: 'scan.json', statement: statement(DIGEST, 'https://cosign.sigstore.dev/attestation/vuln/v1') },
    ];

    const result = await verifyLocalAttestations(files, request(), DIGEST);

    expect(result).toMatchObject({
      verified: false,
      reason: 'attestation for another digest',
      attestations: [],
    });
  });

  it("verifies an envelope with the rule's own keys, taking a tagged image's digest from its subject", async () => {
    const files: LocalAttestation[] = [
      { file: 'prov.dsse.json', envelope: envelopeOf(statement(), ci.privateKey) },
    ];

    const result = await verifyLocalAttestations(files, request(), undefined);

    expect(result).toMatchObject({ verified: true, digest: DIGEST });
    expect(result.attestations?.[0].statement).toEqual(statement());
  });

  it('verifies an envelope with the key the test names, and with no other', async () => {
    const envelope = envelopeOf(statement(), ci.privateKey);
    const named = (pem: string): LocalAttestation[] => [
      { file: 'prov.dsse.json', envelope, key: trustedKey(pem, 'key.pub') },
    ];

    const withSigner = await verifyLocalAttestations(
      named(ci.publicPem),
      request(byKeys(stranger.publicPem)),
      DIGEST,
    );
    const withOther = await verifyLocalAttestations(named(stranger.publicPem), request(), DIGEST);

    expect(withSigner.verified).toBe(true);
    expect(withOther).toMatchObject({
      verified: false,
      reason: `no attestation of type ${SLSA} by a trusted key`,
      attestations: [],
    });
  });

  it('lists an envelope that is not one as malformed, and counts nothing', async () => {
    const result = await verifyLocalAttestations(
      [{ file: 'junk.json', envelope: { payload: 1 } }],
      request(),
      DIGEST,
    );

    expect(result).toMatchObject({ verified: false, reason: `no attestation of type ${SLSA}` });
    expect(result.evidence).toEqual([
      {
        where: 'attestation file',
        problem: 'junk.json: malformed artifact: a DSSE envelope without a payload',
      },
    ]);
  });
});
