import * as x509 from '@peculiar/x509';
import { Tagged, encode } from 'cbor';
import { KeyObject, X509Certificate, createPrivateKey, randomBytes, sign, webcrypto } from 'node:crypto';
import type { NotationTrust } from '../verification';
import { EC, HOUR } from './cosign-fixtures';
import { FakeRegistry, OCI_MANIFEST } from './fake-registry';

// What notation v1.3 writes, signed in-process and written from the Notary Project specifications
// rather than taken from the verifier: a signing certificate (self-signed, as `notation cert
// generate-test` makes one, or under a CA), JWS and COSE envelopes with the `notary.x509` scheme's
// headers, and the signature manifest notation pushes as a referrer of the image.

export const NOTARY_SIGNATURE = 'application/vnd.cncf.notary.signature';
export const NOTARY_PAYLOAD = 'application/vnd.cncf.notary.payload.v1+json';
export const RELEASE_SUBJECT = 'C=US, ST=WA, L=Seattle, O=Acme, CN=release';

export interface NotationSigner {
  readonly pem: string;
  readonly der: Buffer;
  readonly privateKey: KeyObject;
  /** DER, signing certificate first, root last: what `x5c` and `x5chain` carry. */
  readonly chain: readonly Buffer[];
  /** The PEM a trust store holds: the root (the certificate itself, when self-signed). */
  readonly trustStorePem: string;
}

export interface NotationSignerOptions {
  readonly subject?: string;
  /** Issue it under a CA of its own instead of self-signing it. */
  readonly underCa?: boolean;
  readonly notBefore?: Date;
  readonly notAfter?: Date;
  /** Mark its key usage critical, as the Notary Project requires; true by default. */
  readonly criticalKeyUsage?: boolean;
}

const keys = (): Promise<webcrypto.CryptoKeyPair> =>
  webcrypto.subtle.generateKey(EC, true, ['sign', 'verify']);

/** A signing certificate with an EC P-256 key (ES256), as notation's trust store would hold it. */
export async function notationSigner(options: NotationSignerOptions = {}): Promise<NotationSigner> {
  const now = Date.now();
  const leafKeys = await keys();
  const leafExtensions = [
    new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, options.criticalKeyUsage ?? true),
    new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.codeSigning]),
  ];
  const validity = {
    notBefore: options.notBefore ?? new Date(now - HOUR),
    notAfter: options.notAfter ?? new Date(now + 24 * HOUR),
  };
  const subject = options.subject ?? RELEASE_SUBJECT;
  let leaf: x509.X509Certificate;
  let root: x509.X509Certificate | undefined;
  if (options.underCa) {
    const caKeys = await keys();
    root = await x509.X509CertificateGenerator.createSelfSigned({
      name: 'C=US, ST=WA, O=Acme, CN=Acme signing CA',
      keys: caKeys,
      signingAlgorithm: EC,
      notBefore: new Date(now - 48 * HOUR),
      notAfter: new Date(now + 48 * HOUR),
      extensions: [
        new x509.BasicConstraintsExtension(true, 1, true),
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      ],
    });
    leaf = await x509.X509CertificateGenerator.create({
      subject,
      issuer: root.subject,
      publicKey: leafKeys.publicKey,
      signingKey: caKeys.privateKey,
      signingAlgorithm: EC,
      serialNumber: `01${randomBytes(8).toString('hex')}`,
      ...validity,
      extensions: leafExtensions,
    });
  } else {
    leaf = await x509.X509CertificateGenerator.createSelfSigned({
      name: subject,
      keys: leafKeys,
      signingAlgorithm: EC,
      serialNumber: `01${randomBytes(8).toString('hex')}`,
      ...validity,
      extensions: leafExtensions,
    });
  }
  const pkcs8 = Buffer.from(await webcrypto.subtle.exportKey('pkcs8', leafKeys.privateKey));
  const der = Buffer.from(leaf.rawData);
  return {
    pem: leaf.toString('pem'),
    der,
    privateKey: createPrivateKey({ key: pkcs8, format: 'der', type: 'pkcs8' }),
    chain: root ? [der, Buffer.from(root.rawData)] : [der],
    trustStorePem: (root ?? leaf).toString('pem'),
  };
}

/** The payload notation signs: a descriptor of the image's manifest. */
/** Notary Project trust in what `signer`'s trust-store root issued, for any identity (`*`), with no TSA. */
export const anyIdentityUnder = (signer: NotationSigner): NotationTrust => ({
  trustStore: [new X509Certificate(signer.trustStorePem)],
  identities: [{ anyone: true, written: '*' }],
  timestampAuthorities: [],
});

export const notationPayload = (digest: string): Buffer =>
  Buffer.from(JSON.stringify({ targetArtifact: { mediaType: OCI_MANIFEST, digest, size: 401 } }));

export interface EnvelopeOptions {
  /** Protected headers to add or (with `undefined`) leave out. */
  readonly headers?: Record<string, unknown>;
  /** The `crit` list; the signing scheme alone by default. */
  readonly critical?: (string | number)[];
  /** A timestamp countersignature to carry, made by `stampWith` over the signature. */
  readonly stampWith?: (signature: Buffer) => Buffer;
  /** Sign with this key instead of the certificate's. */
  readonly signedBy?: KeyObject;
}

const SIGNING_TIME = 'io.cncf.notary.signingTime';
const SCHEME = 'io.cncf.notary.signingScheme';

const es256 = (data: Buffer, key: KeyObject): Buffer =>
  sign('sha256', data, { key, dsaEncoding: 'ieee-p1363' });

/** A JWS envelope in the flattened JSON serialization, as notation's default `--signature-format jws` writes it. */
export function jwsEnvelope(signer: NotationSigner, payload: Buffer, options: EnvelopeOptions = {}): Buffer {
  const headers = Object.fromEntries(
    Object.entries({
      alg: 'ES256',
      crit: options.critical ?? [SCHEME],
      cty: NOTARY_PAYLOAD,
      [SCHEME]: 'notary.x509',
      [SIGNING_TIME]: new Date(Math.floor(Date.now() / 1000) * 1000).toISOString().replace('.000Z', 'Z'),
      ...options.headers,
    }).filter(([, value]) => value !== undefined),
  );
  const protectedHeader = Buffer.from(JSON.stringify(headers)).toString('base64url');
  const encodedPayload = payload.toString('base64url');
  const signature = es256(
    Buffer.from(`${protectedHeader}.${encodedPayload}`),
    options.signedBy ?? signer.privateKey,
  );
  return Buffer.from(
    JSON.stringify({
      payload: encodedPayload,
      protected: protectedHeader,
      header: {
        x5c: signer.chain.map((der) => der.toString('base64')),
        'io.cncf.notary.signingAgent': 'notation-go/1.3.2',
        ...(options.stampWith
          ? { 'io.cncf.notary.timestampSignature': options.stampWith(signature).toString('base64') }
          : {}),
      },
      signature: signature.toString('base64url'),
    }),
  );
}

/** A COSE_Sign1_Tagged envelope, as `notation sign --signature-format cose` writes it. */
export function coseEnvelope(signer: NotationSigner, payload: Buffer, options: EnvelopeOptions = {}): Buffer {
  const headers = new Map<string | number, unknown>(
    Object.entries({
      1: -7,
      2: options.critical ?? [SCHEME],
      3: NOTARY_PAYLOAD,
      [SCHEME]: 'notary.x509',
      [SIGNING_TIME]: new Tagged(1, Math.floor(Date.now() / 1000)),
      ...options.headers,
    })
      .filter(([, value]) => value !== undefined)
      .map(([label, value]) => [/^-?\d+$/.test(label) ? Number(label) : label, value]),
  );
  const protectedBytes = encode(headers);
  const toBeSigned = encode(['Signature1', protectedBytes, Buffer.alloc(0), payload]);
  const signature = es256(toBeSigned, options.signedBy ?? signer.privateKey);
  const unprotected = new Map<string | number, unknown>([
    [33, [...signer.chain]],
    ['io.cncf.notary.signingAgent', 'notation-go/1.3.2'],
    ...(options.stampWith
      ? [['io.cncf.notary.timestampSignature', options.stampWith(signature)] as [string, unknown]]
      : []),
  ]);
  return encode(new Tagged(18, [protectedBytes, unprotected, payload, signature]));
}

/**
 * Pushes a signature manifest as notation v1.3 does on a registry without the referrers API: its
 * config of the Notary Project's media type, one layer holding the envelope, the image as its
 * subject, listed in the referrers fallback tag with the signature's artifact type.
 */
export function pushNotationSignature(
  registry: FakeRegistry,
  repository: string,
  digest: string,
  envelope: Buffer,
  format: 'JWS' | 'COSE',
): void {
  const config = registry.blob(Buffer.from('{}'), NOTARY_SIGNATURE);
  const layer = registry.blob(envelope, format === 'JWS' ? 'application/jose+json' : 'application/cose');
  const manifest = registry.manifest(repository, {
    schemaVersion: 2,
    mediaType: OCI_MANIFEST,
    config,
    layers: [layer],
    subject: { mediaType: OCI_MANIFEST, digest, size: 401 },
  });
  registry.addToFallbackTag(repository, digest, { ...manifest, artifactType: NOTARY_SIGNATURE });
}
