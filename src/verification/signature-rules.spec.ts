import * as x509 from '@peculiar/x509';
import Ajv from 'ajv';
import { generateKeyPairSync, webcrypto } from 'node:crypto';
import { parseNormalizedReference } from '../image-reference';
import { RuleCompileContext, RuleValueError } from '../policy/rules';
import { VerifyAttestationsRule } from '../policy/rules/verify-attestations.rule';
import { VerifySignaturesRule } from '../policy/rules/verify-signatures.rule';
import type { VerificationResult } from './image-verifier.service';

// The policy side of verification: how the two signature rules read their trust material, and
// how they judge what the verifier found. Kept beside the verifier whose inputs they build.

x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);
const EC = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' };
const SLSA = 'https://slsa.dev/provenance/v0.2';
const GITHUB_ISSUER = 'https://token.actions.githubusercontent.com';
const image = parseNormalizedReference(`registry.example.com/app@sha256:${'a'.repeat(64)}`);

const publicPem = (): string =>
  generateKeyPairSync('ec', { namedCurve: 'P-256' })
    .publicKey.export({ type: 'spki', format: 'pem' })
    .toString();

/** A compile context over these files; any other path is missing, as readFile says. */
const filesContext = (files: Record<string, string> = {}): RuleCompileContext => ({
  readFile: (path) => {
    if (path in files) return files[path];
    throw new Error(`${path}: no such file`);
  },
});

/** What compiling threw, so that its path and message can be checked. */
function compileError(compile: () => unknown): RuleValueError {
  try {
    compile();
  } catch (error) {
    if (error instanceof RuleValueError) return error;
    throw error;
  }
  throw new Error('compiled without an error');
}

const result = (verified: boolean, reason?: string): VerificationResult => ({
  verified,
  reason,
  digest: `sha256:${'a'.repeat(64)}`,
  evidence: [],
  cache: 'miss',
  ms: 1,
});

let caPem: string;
let caDer: Buffer;
const logDer = generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({
  type: 'spki',
  format: 'der',
});
const identities = [{ issuer: GITHUB_ISSUER, subjectRegExp: '^https://github\\.com/acme/' }];

const trustedRoot = (options: { logs: boolean }): string =>
  JSON.stringify({
    mediaType: 'application/vnd.dev.sigstore.trustedroot+json;version=0.1',
    certificateAuthorities: [{ certChain: { certificates: [{ rawBytes: caDer.toString('base64') }] } }],
    tlogs: options.logs ? [{ publicKey: { rawBytes: logDer.toString('base64') } }] : [],
  });

beforeAll(async () => {
  const keys = await webcrypto.subtle.generateKey(EC, true, ['sign', 'verify']);
  const ca = await x509.X509CertificateGenerator.createSelfSigned({
    name: 'CN=test fulcio',
    keys,
    signingAlgorithm: EC,
    notBefore: new Date(Date.now() - 60_000),
    notAfter: new Date(Date.now() + 86_400_000),
    extensions: [new x509.BasicConstraintsExtension(true, 1, true)],
  });
  caPem = ca.toString('pem');
  caDer = Buffer.from(ca.rawData);
});

describe(VerifySignaturesRule.name, () => {
  const sut = new VerifySignaturesRule();
  const validate = new Ajv({ allErrors: true, strict: true, strictRequired: false }).compile(sut.valueSchema);

  describe('compile', () => {
    it('trusts an inline PEM key, naming it as inline', () => {
      const pem = publicPem();

      const trust = sut.compile({ keys: [pem] }, filesContext());

      expect(trust.keys).toHaveLength(1);
      expect(trust.keys[0]).toMatchObject({
        source: 'inline key',
        fingerprint: expect.stringMatching(/^sha256:[0-9a-f]{16}$/),
      });
      expect(trust.certificates).toBeUndefined();
    });

    it('reads a key file through the compile context, naming it by its path', () => {
      const context = filesContext({ 'keys/cosign.pub': publicPem() });
      const readFile = jest.spyOn(context, 'readFile');

      const trust = sut.compile({ keys: ['keys/cosign.pub'] }, context);

      expect(readFile).toHaveBeenCalledWith('keys/cosign.pub');
      expect(trust.keys[0].source).toBe('keys/cosign.pub');
    });

    it('reports a key that is not PEM at its index', () => {
      const error = compileError(() =>
        sut.compile(
          { keys: [publicPem(), '-----BEGIN PUBLIC KEY-----\ngarbage\n-----END PUBLIC KEY-----'] },
          filesContext(),
        ),
      );

      expect(error.path).toEqual(['keys', 1]);
      expect(error.message).toMatch(/^inline key is not a PEM public key/);
    });

    it('reports a key file that is not PEM at its index', () => {
      const error = compileError(() =>
        sut.compile({ keys: ['ci.pub'] }, filesContext({ 'ci.pub': 'hello' })),
      );

      expect(error.path).toEqual(['keys', 0]);
      expect(error.message).toMatch(/^ci\.pub is not a PEM public key/);
    });

    it('reports a key file that cannot be read at its index, saying why', () => {
      const error = compileError(() => sut.compile({ keys: [publicPem(), 'missing.pub'] }, filesContext()));

      expect(error.path).toEqual(['keys', 1]);
      expect(error.message).toBe('missing.pub: no such file');
    });

    it('gives other keys another trust hash, so a verdict is never reused across them', () => {
      const [one, two] = [publicPem(), publicPem()];

      expect(sut.compile({ keys: [one] }, filesContext()).hash).toBe(
        sut.compile({ keys: [one] }, filesContext()).hash,
      );
      expect(sut.compile({ keys: [one] }, filesContext()).hash).not.toBe(
        sut.compile({ keys: [two] }, filesContext()).hash,
      );
    });

    it('reads certificate authorities from a caFile, with identities as regular expressions', () => {
      const trust = sut.compile(
        { certificates: { caFile: 'fulcio.pem', identities } },
        filesContext({ 'fulcio.pem': caPem }),
      );

      expect(trust.keys).toEqual([]);
      expect(trust.certificates?.authorities.map((c) => c.subject)).toEqual(['CN=test fulcio']);
      expect(trust.certificates?.identities[0].subjectRegExp?.test('https://github.com/acme/app')).toBe(true);
      expect(trust.certificates?.requireTransparencyLog).toBe(false);
    });

    it('reads authorities and transparency-log keys from a trustedRoot', () => {
      const context = filesContext({ 'root.json': trustedRoot({ logs: true }) });

      const trust = sut.compile(
        { certificates: { trustedRoot: 'root.json', identities, requireTransparencyLog: true } },
        context,
      );

      expect(trust.certificates).toMatchObject({ requireTransparencyLog: true });
      expect(trust.certificates?.authorities).toHaveLength(1);
      expect(trust.certificates?.logs).toHaveLength(1);
    });

    it('refuses certificates without a trustedRoot or a caFile', () => {
      const error = compileError(() => sut.compile({ certificates: { identities } }, filesContext()));

      expect(error.path).toEqual(['certificates']);
      expect(error.message).toBe('must name trustedRoot or caFile');
    });

    it('refuses a trustedRoot naming no certificate authority', () => {
      const context = filesContext({ 'root.json': '{"tlogs":[]}' });

      const error = compileError(() =>
        sut.compile({ certificates: { trustedRoot: 'root.json', identities } }, context),
      );

      expect(error.path).toEqual(['certificates']);
      expect(error.message).toBe('names no certificate authority');
    });

    it.each([
      ['a caFile alone', { caFile: 'fulcio.pem' }],
      ['a trustedRoot without logs', { trustedRoot: 'root.json' }],
    ])('refuses requireTransparencyLog with %s, which has no log keys', (_case, files) => {
      const context = filesContext({ 'fulcio.pem': caPem, 'root.json': trustedRoot({ logs: false }) });

      const error = compileError(() =>
        sut.compile({ certificates: { ...files, identities, requireTransparencyLog: true } }, context),
      );

      expect(error.path).toEqual(['certificates', 'requireTransparencyLog']);
    });

    it('reports a trustedRoot that is not JSON at its key', () => {
      const error = compileError(() =>
        sut.compile(
          { certificates: { trustedRoot: 'root.json', identities } },
          filesContext({ 'root.json': '{' }),
        ),
      );

      expect(error.path).toEqual(['certificates', 'trustedRoot']);
    });

    it('reports a caFile without certificates at its key', () => {
      const error = compileError(() =>
        sut.compile(
          { certificates: { caFile: 'fulcio.pem', identities } },
          filesContext({ 'fulcio.pem': publicPem() }),
        ),
      );

      expect(error.path).toEqual(['certificates', 'caFile']);
    });

    it('reports an identity pattern that is not a regular expression at its index', () => {
      const error = compileError(() =>
        sut.compile(
          {
            certificates: {
              caFile: 'fulcio.pem',
              identities: [identities[0], { issuer: GITHUB_ISSUER, subjectRegExp: '(' }],
            },
          },
          filesContext({ 'fulcio.pem': caPem }),
        ),
      );

      expect(error.path).toEqual(['certificates', 'identities', 1, 'subjectRegExp']);
    });
  });

  describe('compile: timestamps, Notary Project trust and thresholds', () => {
    const notation = (trustedIdentities: string[], extra: Record<string, unknown> = {}) => ({
      notation: { trustStore: ['notation-ca.pem'], trustedIdentities, ...extra },
    });
    const context = (): RuleCompileContext =>
      filesContext({
        'notation-ca.pem': caPem,
        'tsa.pem': caPem,
        'fulcio.pem': caPem,
        'cosign.pub': publicPem(),
      });

    it('reads timestamp authorities for keys, with no identities, and requires a timestamp only when told', () => {
      const trust = sut.compile(
        { keys: ['cosign.pub'], certificates: { timestampAuthorities: ['tsa.pem'], requireTimestamp: true } },
        context(),
      );

      expect(trust.certificates).toBeUndefined();
      expect(trust.timestamps).toMatchObject({ required: true });
      expect(trust.timestamps?.authorities.map((c) => c.subject)).toEqual(['CN=test fulcio']);
    });

    it('refuses timestamps alone without keys to stamp, and requireTimestamp without any authority', () => {
      expect(
        compileError(() => sut.compile({ certificates: { timestampAuthorities: ['tsa.pem'] } }, context()))
          .path,
      ).toEqual(['certificates']);
      expect(
        compileError(() =>
          sut.compile({ keys: ['cosign.pub'], certificates: { requireTimestamp: true } }, context()),
        ).path,
      ).toEqual(['certificates', 'requireTimestamp']);
    });

    it('parses Notary Project identities as notation does, C, ST and O required', () => {
      const trust = sut.compile(
        notation(['x509.subject: C=US, S=WA, L=Seattle, O=Acme\\, Inc, CN=release']),
        context(),
      );

      expect(trust.notation?.trustStore).toHaveLength(1);
      const [identity] = trust.notation!.identities;
      expect('name' in identity && Object.fromEntries(identity.name)).toEqual({
        C: 'US',
        ST: 'WA',
        L: 'Seattle',
        O: 'Acme, Inc',
        CN: 'release',
      });
    });

    it.each([
      ['no prefix', ['C=US, ST=WA, O=Acme'], 0],
      ['no ST', ['x509.subject: C=US, O=Acme, CN=release'], 0],
      ['a multi-valued RDN', ['x509.subject: C=US+ST=WA, O=Acme'], 0],
      ['a type twice', ['x509.subject: C=US, ST=WA, O=Acme, O=Other'], 0],
      ['"*" beside another', ['*', 'x509.subject: C=US, ST=WA, O=Acme'], undefined],
      [
        'overlapping identities',
        ['x509.subject: C=US, ST=WA, O=Acme, OU=build', 'x509.subject: C=US, ST=WA, O=Acme'],
        1,
      ],
    ])('refuses trusted identities with %s, at the identity', (_case, identities, index) => {
      const error = compileError(() => sut.compile(notation(identities), context()));

      expect(error.path).toEqual(
        index === undefined ? ['notation', 'trustedIdentities'] : ['notation', 'trustedIdentities', index],
      );
    });

    it('counts a key listed twice once, and refuses a threshold the rule cannot meet', () => {
      const pem = publicPem();
      expect(sut.compile({ keys: [pem, pem] }, context()).keys).toHaveLength(1);

      const error = compileError(() => sut.compile({ keys: [pem, pem], threshold: 2 }, context()));

      expect(error.path).toEqual(['threshold']);
      expect(error.message).toBe('2 cannot be met: the rule trusts 1 distinct key or identity');
    });

    it('counts keys, certificate identities and Notary Project identities toward one threshold', () => {
      const trust = sut.compile(
        {
          keys: ['cosign.pub'],
          threshold: 3,
          certificates: { caFile: 'fulcio.pem', identities },
          ...notation(['*']),
        },
        context(),
      );

      expect(trust.threshold).toBe(3);
    });

    it('gives another threshold, TSA or Notary Project trust another trust hash', () => {
      const pem = publicPem();
      const files = filesContext({ 'tsa.pem': caPem, 'notation-ca.pem': caPem, 'other.pem': publicPem() });
      const hash = (value: object): string => sut.compile({ keys: [pem], ...value }, files).hash;
      const hashes = [
        hash({}),
        hash({ threshold: 1 }),
        hash({ keys: [pem, publicPem()], threshold: 2 }),
        hash({ certificates: { timestampAuthorities: ['tsa.pem'] } }),
        hash({ certificates: { timestampAuthorities: ['tsa.pem'], requireTimestamp: true } }),
        hash(notation(['*'])),
        hash(notation(['x509.subject: C=US, ST=WA, O=Acme'])),
        hash(notation(['*'], { timestampAuthorities: ['tsa.pem'] })),
      ];

      // A threshold of 1 written out is the default, and decides alike.
      expect(hashes[0]).toBe(hashes[1]);
      expect(new Set(hashes.slice(1)).size).toBe(hashes.length - 1);
    });
  });

  describe('valueSchema', () => {
    it.each([
      ['keys', { keys: ['cosign.pub'] }],
      ['certificates', { certificates: { caFile: 'fulcio.pem', identities: [{ issuer: GITHUB_ISSUER }] } }],
      // Keys and identities together, toward one threshold (issue 26's interface).
      [
        'both keys and certificates, with a threshold',
        { keys: ['a.pub'], threshold: 2, certificates: { caFile: 'ca.pem', identities: [{ issuer: 'x' }] } },
      ],
      [
        'keys with timestamps alone',
        { keys: ['a.pub'], certificates: { timestampAuthorities: ['tsa.pem'], requireTimestamp: true } },
      ],
      ['Notary Project trust alone', { notation: { trustStore: ['ca.pem'], trustedIdentities: ['*'] } }],
      [
        'Notary Project trust with TSAs',
        {
          notation: {
            trustStore: ['ca.pem'],
            trustedIdentities: ['x509.subject: C=US, ST=WA, O=Acme'],
            timestampAuthorities: ['tsa-root.pem'],
          },
        },
      ],
    ])('accepts %s', (_case, value) => {
      expect(validate(value)).toBe(true);
    });

    it.each([
      ['neither keys nor certificates', {}],
      ['a caFile without identities', { certificates: { caFile: 'ca.pem' } }],
      ['a trustedRoot without identities', { keys: ['a.pub'], certificates: { trustedRoot: 'root.json' } }],
      ['a threshold of 0', { keys: ['a.pub'], threshold: 0 }],
      ['a threshold that is not an integer', { keys: ['a.pub'], threshold: 1.5 }],
      ['Notary Project trust without identities', { notation: { trustStore: ['ca.pem'] } }],
      ['Notary Project trust without a trust store', { notation: { trustedIdentities: ['*'] } }],
      ['no key in the list', { keys: [] }],
      [
        'an identity without an issuer',
        { certificates: { caFile: 'ca.pem', identities: [{ subject: 'x' }] } },
      ],
      ['an unknown field', { keys: ['a.pub'], key: 'a.pub' }],
    ])('refuses %s', (_case, value) => {
      expect(validate(value)).toBe(false);
    });
  });

  describe('verification', () => {
    it('asks for signatures under the compiled trust', () => {
      const trust = sut.compile({ keys: [publicPem()] }, filesContext());

      expect(sut.verification(trust)).toEqual({ kind: 'signatures', trust });
    });
  });

  describe('check', () => {
    const trust = sut.compile({ keys: [publicPem()] }, filesContext());

    it('finds nothing wrong with a verified signature', () => {
      expect(sut.check(image, trust, { verification: result(true) })).toBeUndefined();
    });

    it('denies with the reason the verifier gave', () => {
      expect(
        sut.check(image, trust, { verification: result(false, 'signature for another digest') }),
      ).toEqual({
        summary: 'Images without a verified signature are not allowed',
        problem: 'has no verified signature: signature for another digest',
        detail: 'signature for another digest',
      });
    });

    it('denies when there is no verification result: a doubt denies', () => {
      expect(sut.check(image, trust, undefined)).toMatchObject({
        problem: 'has no verified signature: not verified',
      });
    });
  });
});

describe(VerifyAttestationsRule.name, () => {
  const sut = new VerifyAttestationsRule();
  const validate = new Ajv({ allErrors: true, strict: true, strictRequired: false }).compile(sut.valueSchema);

  it('compiles its trust like the signature rule, keeping the predicate type apart', () => {
    const settings = sut.compile(
      { keys: ['cosign.pub'], predicateType: SLSA },
      filesContext({ 'cosign.pub': publicPem() }),
    );

    expect(settings.predicateType).toBe(SLSA);
    expect(settings.trust.keys[0].source).toBe('cosign.pub');
    expect(sut.verification(settings)).toEqual({
      kind: 'attestations',
      trust: settings.trust,
      predicateType: SLSA,
    });
  });

  it('reports a bad key at its index', () => {
    const error = compileError(() =>
      sut.compile({ keys: ['nope'], predicateType: SLSA }, filesContext({ nope: 'x' })),
    );

    expect(error.path).toEqual(['keys', 0]);
  });

  it('refuses certificates without a trustedRoot or a caFile', () => {
    const error = compileError(() =>
      sut.compile({ certificates: { identities }, predicateType: SLSA }, filesContext()),
    );

    expect(error.path).toEqual(['certificates']);
  });

  it('refuses requireTransparencyLog without log keys', () => {
    const error = compileError(() =>
      sut.compile(
        {
          certificates: { caFile: 'fulcio.pem', identities, requireTransparencyLog: true },
          predicateType: SLSA,
        },
        filesContext({ 'fulcio.pem': caPem }),
      ),
    );

    expect(error.path).toEqual(['certificates', 'requireTransparencyLog']);
  });

  it('requires a predicate type in its schema', () => {
    expect(validate({ keys: ['cosign.pub'], predicateType: SLSA })).toBe(true);
    expect(validate({ keys: ['cosign.pub'] })).toBe(false);
    expect(validate({ keys: ['cosign.pub'], predicateType: '' })).toBe(false);
  });

  describe('check', () => {
    const settings = sut.compile({ keys: [publicPem()], predicateType: SLSA }, filesContext());

    it('finds nothing wrong with a verified attestation', () => {
      expect(sut.check(image, settings, { verification: result(true) })).toBeUndefined();
    });

    it('denies with the reason the verifier gave', () => {
      expect(
        sut.check(image, settings, { verification: result(false, `no attestation of type ${SLSA}`) }),
      ).toEqual({
        summary: 'Images without a verified attestation are not allowed',
        problem: `has no verified attestation: no attestation of type ${SLSA}`,
        detail: `no attestation of type ${SLSA}`,
      });
    });

    it('denies when there is no verification result: a doubt denies', () => {
      expect(sut.check(image, settings, undefined)).toMatchObject({
        problem: 'has no verified attestation: not verified',
      });
    });
  });
});
