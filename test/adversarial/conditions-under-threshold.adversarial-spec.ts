import { Logger } from '@nestjs/common';
import { CosignWriter, SLSA, envelopeOf, keyPair } from '../../src/testing/cosign-fixtures';
import { FakeRegistry } from '../../src/testing/fake-registry';
import { BouncerUnderAttack } from './support/bouncer-under-attack';
import { policyOverRegistry } from './support/under-policy';

const RELEASE_WORKFLOW = 'https://github.com/acme/.github/workflows/release.yml@refs/heads/main';

/**
 * A threshold of two signers over attestations with conditions, which one signer would like to
 * decide alone: its provenance satisfies the conditions, and the second signer's attestation of
 * the same type, which says something else, still counted toward the threshold. Two signers must
 * each attest what the conditions ask; one signer under two names is still one.
 */
describe('conditions under a threshold, decided by one signer', () => {
  const registry = new FakeRegistry();
  const cosign = new CosignWriter(registry);
  const ci = keyPair();
  const rebuilder = keyPair();
  const bouncer = new BouncerUnderAttack();
  let repositories = 0;

  /** An image whose SLSA attestations each name `builder`, signed by the given keys. */
  function attested(signed: readonly { key: typeof ci; builder: string }[]): string {
    const repository = `threshold/app-${++repositories}`;
    const digest = cosign.image(repository);
    cosign.pushAttestations(
      repository,
      digest,
      signed.map(({ key, builder }) => {
        const statement = cosign.statement(repository, digest, SLSA);
        return {
          envelope: envelopeOf(
            { ...statement, predicate: { runDetails: { builder: { id: builder } } } },
            key.privateKey,
          ),
          predicateType: SLSA,
        };
      }),
    );
    return `${registry.access.registry}/${repository}@${digest}`;
  }

  beforeAll(async () => {
    Logger.overrideLogger(false);
    await registry.start();
    await bouncer.start(
      policyOverRegistry(registry, [
        '- name: built-by-our-ci-twice',
        '  verifyAttestations:',
        `    keys: [${JSON.stringify(ci.publicPem)}, ${JSON.stringify(rebuilder.publicPem)}]`,
        '    threshold: 2',
        `    predicateType: ${SLSA}`,
        '    conditions:',
        `      - expression: 'predicate.runDetails.builder.id == "${RELEASE_WORKFLOW}"'`,
        '        message: built by the release workflow on main',
      ]),
    );
  });

  afterAll(async () => {
    await bouncer.stop();
    await registry.stop();
  });

  it('denies when the second signer attests another builder, naming the condition and the count', async () => {
    const image = attested([
      { key: ci, builder: RELEASE_WORKFLOW },
      { key: rebuilder, builder: 'https://attacker.example/workflow' },
    ]);

    const reply = await bouncer.imageReview([image]);

    expect(reply.allowed).toBe(false);
    expect(reply.reason).toContain(
      `attestation ${SLSA} does not satisfy: built by the release workflow on main (1 of the 2 signers required satisfy every condition)`,
    );
  });

  it('denies one signer whose two satisfying attestations stand beside the other signer’s dissent', async () => {
    const image = attested([
      { key: ci, builder: RELEASE_WORKFLOW },
      { key: ci, builder: RELEASE_WORKFLOW },
      { key: rebuilder, builder: 'https://attacker.example/workflow' },
    ]);

    const reply = await bouncer.imageReview([image]);

    expect(reply.allowed).toBe(false);
    expect(reply.reason).toContain('(1 of the 2 signers required satisfy every condition)');
  });

  it('admits when both signers attest what the conditions ask', async () => {
    const image = attested([
      { key: ci, builder: RELEASE_WORKFLOW },
      { key: rebuilder, builder: RELEASE_WORKFLOW },
    ]);

    const reply = await bouncer.imageReview([image]);

    expect(reply).toMatchObject({ allowed: true });
  });
});
