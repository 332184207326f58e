import * as x509 from '@peculiar/x509';
import { X509Certificate, generateKeyPairSync, randomBytes, sign, webcrypto } from 'node:crypto';
import {
  Authority,
  authority,
  signingCertificate,
  transparencyLog,
  trustedRootDocument,
} from '../testing/cosign-fixtures';
import {
  MAX_CHAIN,
  certificateIdentity,
  CHAIN_CHECKS_OVER_BUDGET,
  certificateProblem,
  describeIdentity,
  keyThatSigned,
  preAuthenticationEncoding,
  signatureVerifies,
} from './signature-crypto';
import { CertificateTrust, readTrustedRoot, trustedKey } from './trust';

const WORKFLOW = 'https://github.com/acme/app/.github/workflows/ci.yml@refs/heads/main';
const GITHUB_ISSUER = 'https://token.actions.githubusercontent.com';
const data = Buffer.from('{"critical":{"type":"cosign container image signature"}}');

describe(signatureVerifies.name, () => {
  const sut = signatureVerifies;

  describe('with an ECDSA P-256 key, which signs a SHA-256 of the data', () => {
    const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const signature = sign('sha256', data, privateKey);

    it('accepts its signature', () => {
      expect(sut(publicKey, data, signature)).toBe(true);
    });

    it('refuses its signature over other data', () => {
      expect(sut(publicKey, Buffer.from('other'), signature)).toBe(false);
    });

    it("refuses another key's signature", () => {
      const other = generateKeyPairSync('ec', { namedCurve: 'P-256' });

      expect(sut(publicKey, data, sign('sha256', data, other.privateKey))).toBe(false);
    });

    it('takes a malformed or empty signature as false rather than throwing', () => {
      expect(sut(publicKey, data, randomBytes(71))).toBe(false);
      expect(sut(publicKey, data, Buffer.alloc(0))).toBe(false);
      expect(sut(publicKey, data, Buffer.from('not a signature at all'))).toBe(false);
    });
  });

  describe('with an Ed25519 key, which signs the data itself', () => {
    const { privateKey, publicKey } = generateKeyPairSync('ed25519');

    it('accepts its signature', () => {
      expect(sut(publicKey, data, sign(null, data, privateKey))).toBe(true);
    });

    it('refuses a signature over the data with a byte changed', () => {
      const signature = sign(null, data, privateKey);
      const changed = Buffer.from(data);
      changed[0] ^= 1;

      expect(sut(publicKey, changed, signature)).toBe(false);
    });
  });

  describe('with an RSA key, PKCS #1 v1.5 over SHA-256', () => {
    const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });

    it('accepts its signature', () => {
      expect(sut(publicKey, data, sign('sha256', data, privateKey))).toBe(true);
    });

    it('refuses a signature over another hash', () => {
      expect(sut(publicKey, data, sign('sha512', data, privateKey))).toBe(false);
    });

    it('refuses a signature of the wrong length', () => {
      expect(sut(publicKey, data, randomBytes(16))).toBe(false);
    });
  });
});

describe(keyThatSigned.name, () => {
  const pem = (key: ReturnType<typeof generateKeyPairSync>['publicKey']): string =>
    key.export({ type: 'spki', format: 'pem' }).toString();
  const ci = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const release = generateKeyPairSync('ed25519');
  const keys = [trustedKey(pem(ci.publicKey), 'ci.pub'), trustedKey(pem(release.publicKey), 'release.pub')];

  it('names the trusted key whose signature it is', () => {
    expect(keyThatSigned(keys, data, sign(null, data, release.privateKey))?.source).toBe('release.pub');
    expect(keyThatSigned(keys, data, sign('sha256', data, ci.privateKey))?.source).toBe('ci.pub');
  });

  it('names none for a signature no trusted key made', () => {
    const stranger = generateKeyPairSync('ec', { namedCurve: 'P-256' });

    expect(keyThatSigned(keys, data, sign('sha256', data, stranger.privateKey))).toBeUndefined();
  });
});

describe(preAuthenticationEncoding.name, () => {
  const sut = preAuthenticationEncoding;

  it("encodes the DSSE spec's example", () => {
    // https://github.com/secure-systems-lab/dsse/blob/master/protocol.md
    expect(sut('http://example.com/HelloWorld', Buffer.from('hello world')).toString()).toBe(
      'DSSEv1 29 http://example.com/HelloWorld 11 hello world',
    );
  });

  it('counts bytes, not characters', () => {
    expect(sut('type/é', Buffer.from('ünï')).toString()).toBe('DSSEv1 7 type/é 5 ünï');
  });

  it('keeps a binary payload byte for byte', () => {
    const payload = randomBytes(40);

    expect(sut('application/octet-stream', payload).subarray(-40)).toEqual(payload);
  });
});

// Certificates from a local CA, shaped like Fulcio's for a GitHub Actions workflow.
x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);
const EC = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' };
const HOUR = 3_600_000;

const der = (tag: number, text: string): Uint8Array => {
  const bytes = Buffer.from(text, 'utf8');
  return new Uint8Array(Buffer.concat([Buffer.from([tag, bytes.length]), bytes]));
};

interface Leaf {
  readonly san?: { type: 'url' | 'email'; value: string };
  readonly extensions?: x509.Extension[];
  readonly usages?: string[];
  readonly notBefore?: Date;
  readonly notAfter?: Date;
}

describe('certificates', () => {
  let caKeys: webcrypto.CryptoKeyPair;
  let ca: X509Certificate;

  async function leaf(options: Leaf = {}): Promise<X509Certificate> {
    const keys = await webcrypto.subtle.generateKey(EC, true, ['sign', 'verify']);
    const now = Date.now();
    const certificate = await x509.X509CertificateGenerator.create({
      subject: 'CN=sigstore',
      issuer: 'CN=test fulcio',
      publicKey: keys.publicKey,
      signingKey: caKeys.privateKey,
      signingAlgorithm: EC,
      notBefore: options.notBefore ?? new Date(now - 60_000),
      notAfter: options.notAfter ?? new Date(now + HOUR),
      extensions: [
        new x509.ExtendedKeyUsageExtension(options.usages ?? [x509.ExtendedKeyUsage.codeSigning]),
        new x509.SubjectAlternativeNameExtension([options.san ?? { type: 'url', value: WORKFLOW }]),
        ...(options.extensions ?? [
          new x509.Extension('1.3.6.1.4.1.57264.1.8', false, der(0x0c, GITHUB_ISSUER)),
        ]),
      ],
    });
    return new X509Certificate(Buffer.from(certificate.rawData));
  }

  beforeAll(async () => {
    caKeys = await webcrypto.subtle.generateKey(EC, true, ['sign', 'verify']);
    const certificate = await x509.X509CertificateGenerator.createSelfSigned({
      name: 'CN=test fulcio',
      keys: caKeys,
      signingAlgorithm: EC,
      notBefore: new Date(Date.now() - 24 * HOUR),
      notAfter: new Date(Date.now() + 24 * HOUR),
      extensions: [
        new x509.BasicConstraintsExtension(true, 1, true),
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign, true),
      ],
    });
    ca = new X509Certificate(Buffer.from(certificate.rawData));
  });

  describe(certificateIdentity.name, () => {
    const sut = certificateIdentity;

    it("reads the SAN URI and Fulcio's v2 issuer extension, a DER UTF8String", async () => {
      expect(sut(await leaf())).toEqual({ subjects: [WORKFLOW], issuer: GITHUB_ISSUER });
    });

    it('reads an email SAN', async () => {
      const certificate = await leaf({ san: { type: 'email', value: 'dev@acme.example' } });

      expect(sut(certificate).subjects).toEqual(['dev@acme.example']);
    });

    it("reads Fulcio's deprecated v1 issuer extension, the bare string", async () => {
      const v1 = new x509.Extension(
        '1.3.6.1.4.1.57264.1.1',
        false,
        new Uint8Array(Buffer.from(GITHUB_ISSUER)),
      );

      expect(sut(await leaf({ extensions: [v1] })).issuer).toBe(GITHUB_ISSUER);
    });

    it('takes a v2 issuer that is not a UTF8String as no issuer', async () => {
      const printable = new x509.Extension('1.3.6.1.4.1.57264.1.8', false, der(0x13, 'https://x.example'));

      expect(sut(await leaf({ extensions: [printable] })).issuer).toBeUndefined();
    });

    it('has no issuer without either extension', async () => {
      expect(sut(await leaf({ extensions: [] })).issuer).toBeUndefined();
    });
  });

  describe(certificateProblem.name, () => {
    const sut = certificateProblem;
    const trust = (identities: CertificateTrust['identities']): CertificateTrust => ({
      authorities: [ca],
      identities,
      requireTransparencyLog: false,
      logs: [],
      ctLogs: [],
    });
    let trusted: CertificateTrust;

    beforeAll(() => {
      trusted = trust([{ issuer: GITHUB_ISSUER, subject: WORKFLOW }]);
    });

    it('finds nothing wrong with a valid code-signing certificate of a trusted identity', async () => {
      expect(sut(await leaf(), [], trusted, new Date())).toBeUndefined();
    });

    it('pays each link it checks from the budget it is given, and says so when that runs out', async () => {
      const certificate = await leaf();
      let checks = 0;

      expect(sut(certificate, [], trusted, new Date(), () => ++checks <= 1)).toBeUndefined();
      expect(checks).toBe(1);
      expect(sut(certificate, [], trusted, new Date(), () => false)).toBe(CHAIN_CHECKS_OVER_BUDGET);
    });

    it('judges validity at the moment it is given, such as when the log integrated the entry', async () => {
      const now = Date.now();
      const certificate = await leaf({ notBefore: new Date(now - 2 * HOUR), notAfter: new Date(now - HOUR) });

      expect(sut(certificate, [], trusted, new Date())).toMatch(/is not valid at/);
      expect(sut(certificate, [], trusted, new Date(now - 1.5 * HOUR))).toBeUndefined();
    });

    it('refuses a certificate that is not yet valid', async () => {
      const certificate = await leaf({
        notBefore: new Date(Date.now() + HOUR),
        notAfter: new Date(Date.now() + 2 * HOUR),
      });

      expect(sut(certificate, [], trusted, new Date())).toMatch(/is not valid at/);
    });

    it('refuses a certificate for another extended key usage', async () => {
      const certificate = await leaf({
        usages: [x509.ExtendedKeyUsage.serverAuth, x509.ExtendedKeyUsage.clientAuth],
      });

      expect(sut(certificate, [], trusted, new Date())).toBe(
        'the signing certificate is not for code signing',
      );
    });

    it('refuses a certificate that chains to no configured authority', async () => {
      const certificate = await leaf();

      expect(sut(certificate, [], { ...trusted, authorities: [] }, new Date())).toBe(
        'the signing certificate does not chain to a trusted authority',
      );
    });

    it('requires the issuer and a subject of one identity together', async () => {
      const certificate = await leaf();
      const split = trust([
        { issuer: GITHUB_ISSUER, subject: 'https://github.com/acme/other' },
        { issuer: 'https://accounts.google.com', subject: WORKFLOW },
      ]);

      expect(sut(certificate, [], split, new Date())).toBe(
        `the certificate's identity (${WORKFLOW}, issuer ${GITHUB_ISSUER}) is not a trusted one`,
      );
    });

    it('accepts any subject from a trusted issuer when the identity names none', async () => {
      expect(sut(await leaf(), [], trust([{ issuer: GITHUB_ISSUER }]), new Date())).toBeUndefined();
    });

    it('refuses a certificate without an issuer extension, whatever the identity allows', async () => {
      const certificate = await leaf({ extensions: [] });

      expect(sut(certificate, [], trust([{ issuerRegExp: /.*/ }]), new Date())).toMatch(/issuer none/);
    });
  });

  describe(describeIdentity.name, () => {
    it('names the SAN and the issuer', async () => {
      expect(describeIdentity(await leaf())).toBe(`identity ${WORKFLOW} (issuer ${GITHUB_ISSUER})`);
    });
  });
});

// The chain and leaf checks sigstore's verifiers make (Go's x509 for sigstore-go and cosign,
// sigstore-js's CertificateChainVerifier), on certificates from the shared Fulcio-like fixtures.
describe(`${certificateProblem.name}: the chain and what each certificate may do`, () => {
  const sut = certificateProblem;
  const identities = [{ issuer: GITHUB_ISSUER, subject: WORKFLOW }];
  const trustIn = (...authorities: Authority[]): CertificateTrust => ({
    authorities: authorities.map((a) => a.node),
    identities,
    requireTransparencyLog: false,
    logs: [],
    ctLogs: [],
  });
  const leafOf = async (
    issuer: Authority,
    options: Parameters<typeof signingCertificate>[1] = {},
  ): Promise<X509Certificate> => new X509Certificate((await signingCertificate(issuer, options)).der);
  let root: Authority;
  let fulcioIntermediate: Authority;

  beforeAll(async () => {
    root = await authority('test fulcio root');
    // As Fulcio's: a CA for code signing only, with no intermediate below it.
    fulcioIntermediate = await authority('test fulcio intermediate', root, {
      usages: [x509.ExtendedKeyUsage.codeSigning],
    });
  });

  describe('the signing certificate', () => {
    it('is refused without any extended key usage, which Go would let do anything', async () => {
      expect(sut(await leafOf(root, { usages: null }), [], trustIn(root), new Date())).toBe(
        'the signing certificate is not for code signing',
      );
    });

    it('is refused with anyExtendedKeyUsage instead of code signing', async () => {
      const any = await leafOf(root, { usages: ['2.5.29.37.0'] });

      expect(sut(any, [], trustIn(root), new Date())).toBe('the signing certificate is not for code signing');
    });

    it('is refused when it is a certificate authority itself', async () => {
      expect(sut(await leafOf(root, { ca: true }), [], trustIn(root), new Date())).toBe(
        'the signing certificate is a certificate authority',
      );
    });

    it('is refused when its key usage leaves out digital signatures, as Fulcio never does', async () => {
      const encipherOnly = await leafOf(root, { keyUsages: x509.KeyUsageFlags.keyEncipherment });

      expect(sut(encipherOnly, [], trustIn(root), new Date())).toBe(
        "the signing certificate's key usage does not allow digital signatures",
      );
    });

    it('is accepted without a key usage extension, which then restricts nothing', async () => {
      expect(sut(await leafOf(root, { keyUsages: null }), [], trustIn(root), new Date())).toBeUndefined();
    });
  });

  describe('the chain', () => {
    it("is Fulcio's shape: leaf, an intermediate the signature carries, a trusted root", async () => {
      const leaf = await leafOf(fulcioIntermediate);

      expect(sut(leaf, [fulcioIntermediate.node, root.node], trustIn(root), new Date())).toBeUndefined();
    });

    it("is Fulcio's shape with the intermediate among the trusted certificates, as sigstore's root lists it", async () => {
      const leaf = await leafOf(fulcioIntermediate);

      expect(sut(leaf, [], trustIn(fulcioIntermediate, root), new Date())).toBeUndefined();
    });

    it.each<[string, Parameters<typeof authority>[2]]>([
      ['CA=false', { ca: false }],
      ['no basicConstraints at all', { ca: undefined }],
    ])('refuses an intermediate the signature carries with %s', async (_case, options) => {
      const intermediate = await authority('not a ca', root, options);
      const leaf = await leafOf(intermediate);

      expect(sut(leaf, [intermediate.node], trustIn(root), new Date())).toBe(
        'an issuing certificate in its chain is not a certificate authority',
      );
    });

    it('refuses a trusted certificate that is not a CA, as the issuer of a leaf', async () => {
      const notCa = await authority('a leaf in the CA bundle', root, { ca: false });

      expect(sut(await leafOf(notCa), [], trustIn(notCa, root), new Date())).toBe(
        'an issuing certificate in its chain is not a certificate authority',
      );
    });

    it('refuses an intermediate whose key usage does not include keyCertSign, as OpenSSL does', async () => {
      const intermediate = await authority('signs only', root, {
        keyUsages: x509.KeyUsageFlags.digitalSignature,
      });

      expect(sut(await leafOf(intermediate), [intermediate.node], trustIn(root), new Date())).toBe(
        'the signing certificate does not chain to a trusted authority',
      );
    });

    it('accepts an intermediate without a key usage extension', async () => {
      const intermediate = await authority('unrestricted', root, { keyUsages: null });

      expect(sut(await leafOf(intermediate), [intermediate.node], trustIn(root), new Date())).toBeUndefined();
    });

    it.each<[string, string[], string | undefined]>([
      ['server authentication only', [x509.ExtendedKeyUsage.serverAuth], 'is not for code signing'],
      ['anyExtendedKeyUsage', ['2.5.29.37.0'], undefined],
    ])('judges an intermediate whose extended key usage is %s', async (_case, usages, problem) => {
      const intermediate = await authority('tls', root, { usages });
      const result = sut(await leafOf(intermediate), [intermediate.node], trustIn(root), new Date());

      if (problem) expect(result).toBe(`an issuing certificate in its chain ${problem}`);
      else expect(result).toBeUndefined();
    });

    it("refuses an intermediate below the root's path length constraint of 0", async () => {
      const strictRoot = await authority('root for leaves only', undefined, { pathLength: 0 });
      const intermediate = await authority('one too many', strictRoot, { pathLength: null });

      expect(sut(await leafOf(intermediate), [intermediate.node], trustIn(strictRoot), new Date())).toBe(
        "its chain breaks an issuing certificate's path length constraint",
      );
      expect(sut(await leafOf(strictRoot), [], trustIn(strictRoot), new Date())).toBeUndefined();
    });

    it("refuses a second intermediate below Fulcio's, whose path length is 0", async () => {
      const below = await authority('below fulcio', fulcioIntermediate, { pathLength: null });
      const leaf = await leafOf(below);

      expect(sut(leaf, [below.node, fulcioIntermediate.node], trustIn(root), new Date())).toBe(
        "its chain breaks an issuing certificate's path length constraint",
      );
    });

    it('refuses an intermediate that is not valid at the time the certificate is judged at', async () => {
      const intermediate = await authority('test fulcio intermediate', root);
      const leaf = await leafOf(intermediate);

      expect(sut(leaf, [intermediate.node], trustIn(root), new Date(Date.now() - 2 * HOUR))).toMatch(
        /is not valid at|does not chain/,
      );
      expect(sut(leaf, [intermediate.node], trustIn(root), new Date(Date.now() + 2 * HOUR))).toMatch(
        /is not valid at/,
      );
    });

    it("trusts an authority only within the trusted root's validFor of it, as sigstore-go does", async () => {
      const now = Date.now();
      const leaf = await leafOf(root, {
        notBefore: new Date(now - 2 * HOUR),
        notAfter: new Date(now + HOUR),
      });
      const retiredAt = new Date(now - 0.5 * HOUR);
      const retired = {
        ...trustIn(root),
        authorityValidFor: new Map([[root.node.fingerprint256, [{ validUntil: retiredAt }]]]),
      };

      expect(sut(leaf, [], retired, new Date())).toBe(
        'the signing certificate does not chain to a trusted authority',
      );
      expect(sut(leaf, [], retired, new Date(now - 0.75 * HOUR))).toBeUndefined();
    });

    it('follows at most MAX_CHAIN certificates: three intermediates, not four', async () => {
      const open = await authority('open root', undefined, { pathLength: null });
      const chain: Authority[] = [];
      for (let i = 0; i < 4; i++)
        chain.unshift(await authority(`intermediate ${i}`, chain[0] ?? open, { pathLength: null }));
      const three = chain.slice(1);

      expect(MAX_CHAIN).toBe(5);
      expect(
        sut(
          await leafOf(three[0]),
          three.map((a) => a.node),
          trustIn(open),
          new Date(),
        ),
      ).toBeUndefined();
      expect(
        sut(
          await leafOf(chain[0]),
          chain.map((a) => a.node),
          trustIn(open),
          new Date(),
        ),
      ).toBe('the signing certificate does not chain to a trusted authority');
    });
  });

  describe('with CT logs in the trust material', () => {
    const ctLog = transparencyLog('ctfe.example - 2026');
    const withCt = (...authorities: Authority[]): CertificateTrust => ({
      ...trustIn(...authorities),
      ctLogs: readTrustedRoot(trustedRootDocument(root, [], [ctLog]), 'root.json').ctLogs,
    });

    it("checks the SCT against the key of the leaf's issuer on the verified chain", async () => {
      const leaf = await leafOf(fulcioIntermediate, { scts: [{ log: ctLog }] });

      expect(sut(leaf, [fulcioIntermediate.node], withCt(root), new Date())).toBeUndefined();
    });

    it('refuses a certificate without an SCT before looking at its identity', async () => {
      const stranger = await leafOf(root, { subject: 'https://github.com/evil/app' });

      expect(sut(stranger, [], withCt(root), new Date())).toMatch(/carries no signed certificate timestamp/);
    });
  });
});
