import * as x509 from '@peculiar/x509';
import { X509Certificate, createHash, generateKeyPairSync, webcrypto } from 'node:crypto';
import {
  CertificateTrust,
  TrustMaterialError,
  certificatesIn,
  readTrustedRoot,
  trustHash,
  trustedKey,
} from './trust';

x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);
const EC = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' };

const publicPem = (): string =>
  generateKeyPairSync('ec', { namedCurve: 'P-256' })
    .publicKey.export({ type: 'spki', format: 'pem' })
    .toString();

async function selfSigned(name: string): Promise<X509Certificate> {
  const keys = await webcrypto.subtle.generateKey(EC, true, ['sign', 'verify']);
  const certificate = await x509.X509CertificateGenerator.createSelfSigned({
    name: `CN=${name}`,
    keys,
    signingAlgorithm: EC,
    notBefore: new Date(Date.now() - 60_000),
    notAfter: new Date(Date.now() + 86_400_000),
    extensions: [new x509.BasicConstraintsExtension(true, 1, true)],
  });
  return new X509Certificate(Buffer.from(certificate.rawData));
}

describe(trustedKey.name, () => {
  const sut = trustedKey;

  it('names a key by the first 16 hex digits of the SHA-256 of its SubjectPublicKeyInfo', () => {
    const pem = publicPem();
    const spki = createHash('sha256')
      .update(Buffer.from(pem.replace(/-----[^-]+-----|\s/g, ''), 'base64'))
      .digest('hex');

    expect(sut(pem, 'cosign.pub')).toMatchObject({
      fingerprint: `sha256:${spki.slice(0, 16)}`,
      source: 'cosign.pub',
    });
  });

  it('refuses what is not a PEM public key, naming where it came from', () => {
    expect(() => sut('-----BEGIN PUBLIC KEY-----\nnope\n-----END PUBLIC KEY-----', 'keys/ci.pub')).toThrow(
      TrustMaterialError,
    );
    expect(() => sut('hello', 'keys/ci.pub')).toThrow(/^keys\/ci\.pub is not a PEM public key/);
  });
});

describe(certificatesIn.name, () => {
  const sut = certificatesIn;

  it('reads every certificate of a PEM bundle, in order', async () => {
    const [root, intermediate] = [await selfSigned('root'), await selfSigned('intermediate')];

    const read = sut(`# roots\n${root.toString()}\n${intermediate.toString()}`, 'ca.pem');

    expect(read.map((c) => c.subject)).toEqual(['CN=root', 'CN=intermediate']);
  });

  it('refuses a file without a certificate', () => {
    expect(() => sut(publicPem(), 'ca.pem')).toThrow('ca.pem holds no PEM certificate');
  });

  it('refuses a certificate that cannot be read', () => {
    expect(() => sut('-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----', 'ca.pem')).toThrow(
      /^ca\.pem holds a certificate that cannot be read/,
    );
  });
});

describe(readTrustedRoot.name, () => {
  const sut = readTrustedRoot;
  const logKey = generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({
    type: 'spki',
    format: 'der',
  });

  it("reads the certificate authorities and the transparency logs' keys, naming each log by its key's SHA-256", async () => {
    const ca = await selfSigned('fulcio');
    const document = JSON.stringify({
      mediaType: 'application/vnd.dev.sigstore.trustedroot+json;version=0.1',
      tlogs: [{ publicKey: { rawBytes: logKey.toString('base64') }, logId: { keyId: 'ignored' } }],
      certificateAuthorities: [{ certChain: { certificates: [{ rawBytes: ca.raw.toString('base64') }] } }],
      ctlogs: [],
    });

    const { authorities, logs } = sut(document, 'trusted-root.json');

    expect(authorities.map((c) => c.fingerprint256)).toEqual([ca.fingerprint256]);
    expect(logs).toHaveLength(1);
    expect(logs[0].logId).toBe(createHash('sha256').update(logKey).digest('hex'));
    expect(logs[0].key.export({ type: 'spki', format: 'der' })).toEqual(logKey);
  });

  it('reads an empty TrustedRoot, as cosign verifies keyed bundles with', () => {
    expect(
      sut('{"mediaType":"application/vnd.dev.sigstore.trustedroot+json;version=0.1"}', 'root.json'),
    ).toEqual({
      authorities: [],
      authorityValidFor: new Map(),
      logs: [],
      ctLogs: [],
      timestampAuthorities: [],
      timestampAuthorityValidFor: new Map(),
    });
  });

  it('skips entries without raw bytes', () => {
    const document = JSON.stringify({ tlogs: [{ baseUrl: 'https://rekor' }], certificateAuthorities: [{}] });

    expect(sut(document, 'root.json')).toEqual({
      authorities: [],
      authorityValidFor: new Map(),
      logs: [],
      ctLogs: [],
      timestampAuthorities: [],
      timestampAuthorityValidFor: new Map(),
    });
  });

  it("reads each certificate authority's validFor, for every certificate of its chain", async () => {
    const [intermediate, root] = [await selfSigned('intermediate'), await selfSigned('root')];
    const document = JSON.stringify({
      certificateAuthorities: [
        {
          certChain: { certificates: [{ rawBytes: root.raw.toString('base64') }] },
          validFor: { start: '2021-03-07T03:20:29.000Z', end: '2022-12-31T23:59:59.999Z' },
        },
        {
          certChain: {
            certificates: [intermediate, root].map((c) => ({ rawBytes: c.raw.toString('base64') })),
          },
          validFor: { start: '2022-04-13T20:06:15.000Z' },
        },
      ],
    });

    const { authorityValidFor } = sut(document, 'trusted-root.json');

    expect(authorityValidFor.get(intermediate.fingerprint256)).toEqual([
      { validFrom: new Date('2022-04-13T20:06:15Z'), validUntil: undefined },
    ]);
    expect(authorityValidFor.get(root.fingerprint256)).toEqual([
      { validFrom: new Date('2021-03-07T03:20:29Z'), validUntil: new Date('2022-12-31T23:59:59.999Z') },
      { validFrom: new Date('2022-04-13T20:06:15Z'), validUntil: undefined },
    ]);
  });

  it('refuses a certificate authority whose validFor is not a timestamp', async () => {
    const ca = await selfSigned('fulcio');
    const text = JSON.stringify({
      certificateAuthorities: [
        {
          certChain: { certificates: [{ rawBytes: ca.raw.toString('base64') }] },
          validFor: { start: 1615087229 },
        },
      ],
    });

    expect(() => sut(text, 'root.json')).toThrow(
      'root.json has a certificate authority whose validFor is not a timestamp',
    );
  });

  it("reads the CT logs' keys, naming each log by its key's SHA-256 as RFC 6962 does, with their validFor", () => {
    const document = JSON.stringify({
      ctlogs: [
        {
          baseUrl: 'https://ctfe.sigstore.dev/2022',
          publicKey: {
            rawBytes: logKey.toString('base64'),
            validFor: { start: '2022-10-20T00:00:00.000Z', end: '2030-01-01T00:00:00Z' },
          },
          logId: { keyId: 'ignored' },
        },
        { publicKey: { rawBytes: logKey.toString('base64') } },
      ],
    });

    const { ctLogs } = sut(document, 'trusted-root.json');

    expect(ctLogs).toHaveLength(2);
    expect(ctLogs[0]).toMatchObject({
      logId: createHash('sha256').update(logKey).digest('hex'),
      validFrom: new Date('2022-10-20T00:00:00Z'),
      validUntil: new Date('2030-01-01T00:00:00Z'),
    });
    expect(ctLogs[0].key.export({ type: 'spki', format: 'der' })).toEqual(logKey);
    expect(ctLogs[1]).toMatchObject({ validFrom: undefined, validUntil: undefined });
  });

  it.each([
    ['without a public key', { baseUrl: 'https://ctfe' }, 'root.json has a CT log without a public key'],
    [
      'whose key cannot be read',
      { publicKey: { rawBytes: 'AAAA' } },
      'root.json has a CT log key that cannot be read',
    ],
    [
      'whose key cannot sign RFC 6962 timestamps',
      {
        publicKey: {
          rawBytes: generateKeyPairSync('ed25519')
            .publicKey.export({ type: 'spki', format: 'der' })
            .toString('base64'),
        },
      },
      'root.json has a CT log key of type ed25519, which cannot sign RFC 6962 timestamps',
    ],
    [
      'whose validFor is not a timestamp',
      { publicKey: { rawBytes: logKey.toString('base64'), validFor: { start: 'yesterday' } } },
      'root.json has a CT log whose validFor is not a timestamp',
    ],
  ])(
    'refuses a document with a CT log %s, which could otherwise leave no SCT required',
    (_case, log, message) => {
      const text = JSON.stringify({ ctlogs: [log] });

      expect(() => sut(text, 'root.json')).toThrow(TrustMaterialError);
      expect(() => sut(text, 'root.json')).toThrow(message);
    },
  );

  it('refuses ctlogs that is not a list', () => {
    expect(() => sut('{"ctlogs": {"publicKey": {}}}', 'root.json')).toThrow(
      'root.json has a ctlogs that is not a list',
    );
  });

  it.each([
    ['is not JSON', '{', /^root\.json is not JSON/],
    [
      'has an unreadable authority',
      JSON.stringify({ certificateAuthorities: [{ certChain: { certificates: [{ rawBytes: 'AAAA' }] } }] }),
      'root.json has a certificate authority that cannot be read',
    ],
    [
      'has an unreadable log key',
      JSON.stringify({ tlogs: [{ publicKey: { rawBytes: 'AAAA' } }] }),
      'root.json has a transparency log key that cannot be read',
    ],
  ])('refuses a document that %s', (_case, text, message) => {
    expect(() => sut(text, 'root.json')).toThrow(TrustMaterialError);
    expect(() => sut(text, 'root.json')).toThrow(message);
  });
});

describe(trustHash.name, () => {
  const sut = trustHash;
  const one = trustedKey(publicPem(), 'one.pub');
  const two = trustedKey(publicPem(), 'two.pub');
  let certificates: CertificateTrust;

  beforeAll(async () => {
    certificates = {
      authorities: [await selfSigned('fulcio')],
      identities: [
        {
          issuer: 'https://token.actions.githubusercontent.com',
          subjectRegExp: /^https:\/\/github\.com\/acme\//,
        },
      ],
      requireTransparencyLog: false,
      logs: [],
      ctLogs: [],
    };
  });

  it('is the same for the same material, wherever it was read from', () => {
    expect(sut([one], undefined)).toBe(sut([{ ...one, source: 'elsewhere.pub' }], undefined));
  });

  it('changes with the keys', () => {
    expect(sut([one], undefined)).not.toBe(sut([one, two], undefined));
    expect(sut([one], undefined)).not.toBe(sut([two], undefined));
  });

  it.each<[string, (c: CertificateTrust) => CertificateTrust]>([
    ['an identity', (c) => ({ ...c, identities: [{ issuer: 'https://accounts.google.com' }] })],
    [
      'a subject pattern',
      (c) => ({ ...c, identities: [{ ...c.identities[0], subjectRegExp: /^https:\/\// }] }),
    ],
    ['requireTransparencyLog', (c) => ({ ...c, requireTransparencyLog: true })],
    ['a log', (c) => ({ ...c, logs: [{ logId: 'ab'.repeat(32), key: one.key }] })],
    ['a CT log', (c) => ({ ...c, ctLogs: [{ logId: 'ab'.repeat(32), key: one.key }] })],
    ['the authorities', (c) => ({ ...c, authorities: [] })],
  ])('changes with %s', (_case, change) => {
    expect(sut([], change(certificates))).not.toBe(sut([], certificates));
  });

  it("changes with a CT log's validFor, which decides which SCTs count", () => {
    const log = { logId: 'ab'.repeat(32), key: one.key };
    const until = (validUntil?: Date): string =>
      sut([], { ...certificates, ctLogs: [{ ...log, validUntil }] });

    expect(until(new Date('2030-01-01T00:00:00Z'))).not.toBe(until(undefined));
    expect(until(new Date('2030-01-01T00:00:00Z'))).not.toBe(until(new Date('2031-01-01T00:00:00Z')));
  });

  it("changes with a certificate authority's validFor", () => {
    const [authority] = certificates.authorities;
    const until = (validUntil?: Date): string =>
      sut([], {
        ...certificates,
        authorityValidFor: new Map([[authority.fingerprint256, [{ validUntil }]]]),
      });

    expect(until(new Date('2030-01-01T00:00:00Z'))).not.toBe(until(undefined));
    expect(until(new Date('2030-01-01T00:00:00Z'))).not.toBe(sut([], certificates));
  });
});
