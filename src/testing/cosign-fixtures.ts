import { AsnConvert, OctetString } from '@peculiar/asn1-schema';
import { Certificate } from '@peculiar/asn1-x509';
import * as x509 from '@peculiar/x509';
import {
  KeyObject,
  X509Certificate,
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  randomBytes,
  sign,
  webcrypto,
} from 'node:crypto';
import type { RegistryDeadline } from '../registry';
import {
  type DsseEnvelope,
  type TlogEntry,
  CertificateTrust,
  SignatureTrust,
  TrustedIdentity,
  TrustedKey,
  readTrustedRoot,
  trustHash,
  trustedKey,
} from '../verification';
import { FakeRegistry, OCI_MANIFEST, sha256, tagFor } from './fake-registry';
import {
  merkleInclusionPath as inclusionPath,
  merkleLeafHash as leafHashOf,
  merkleTreeHash as treeHash,
} from './merkle-tree';

// What cosign v2.6.5 writes, signed in-process: keys, DSSE envelopes, the classic .sig and .att
// tags, sigstore bundles, a Fulcio-like CA, and a transparency log's entries and checkpoints.
export const OCI_EMPTY = 'application/vnd.oci.empty.v1+json';
export const OCI_CONFIG = 'application/vnd.oci.image.config.v1+json';
export const SIMPLE_SIGNING = 'application/vnd.dev.cosign.simplesigning.v1+json';
export const DSSE_ENVELOPE = 'application/vnd.dsse.envelope.v1+json';
export const BUNDLE = 'application/vnd.dev.sigstore.bundle.v0.3+json';
export const IN_TOTO = 'application/vnd.in-toto+json';
export const SLSA = 'https://slsa.dev/provenance/v0.2';
export const COSIGN_SIGN = 'https://sigstore.dev/cosign/sign/v1';
export const WORKFLOW = 'https://github.com/acme/app/.github/workflows/ci.yml@refs/heads/main';
export const GITHUB_ISSUER = 'https://token.actions.githubusercontent.com';
export const FULCIO_ISSUER_V2 = '1.3.6.1.4.1.57264.1.8';

export const b64 = (bytes: Buffer | string): string => Buffer.from(bytes).toString('base64');
export interface KeyPair {
  readonly privateKey: KeyObject;
  readonly publicPem: string;
}

export function keyPair(): KeyPair {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  return { privateKey, publicPem: publicKey.export({ type: 'spki', format: 'pem' }).toString() };
}

export const fingerprintOf = (pem: string): string =>
  `sha256:${sha256(createPublicKey(pem).export({ type: 'spki', format: 'der' }))
    .toString('hex')
    .slice(0, 16)}`;

/** DSSE's pre-authentication encoding, written here from the spec rather than taken from the code. */
export const pae = (payloadType: string, payload: Buffer): Buffer =>
  Buffer.concat([
    Buffer.from(`DSSEv1 ${Buffer.byteLength(payloadType)} ${payloadType} ${payload.length} `),
    payload,
  ]);

export function envelopeOf(statement: object, privateKey: KeyObject): DsseEnvelope {
  const payload = Buffer.from(JSON.stringify(statement));
  return {
    payloadType: IN_TOTO,
    payload: b64(payload),
    signatures: [{ keyid: '', sig: b64(sign('sha256', pae(IN_TOTO, payload), privateKey)) }],
  };
}

export interface ClassicLayer {
  readonly payload: Buffer;
  readonly signature: Buffer;
  readonly certificate?: string;
  readonly chain?: string;
  /** An RFC 3161 response, in cosign's `dev.sigstore.cosign/rfc3161timestamp` annotation. */
  readonly timestamp?: Buffer;
}

export interface AttestationLayer {
  readonly envelope: DsseEnvelope;
  readonly predicateType: string;
  readonly certificate?: string;
  readonly chain?: string;
}

export const certificateAnnotations = (layer: {
  certificate?: string;
  chain?: string;
}): Record<string, string> => ({
  ...(layer.certificate ? { 'dev.sigstore.cosign/certificate': layer.certificate } : {}),
  ...(layer.chain ? { 'dev.sigstore.cosign/chain': layer.chain } : {}),
});

/** Writes what `cosign sign` and `cosign attest` leave in a registry, signed in-process. */
export class CosignWriter {
  constructor(private readonly registry: FakeRegistry) {}

  /** A new image (a fresh layer, so a new digest) under `tag`, which moves to it if it named another. */
  image(repository: string, tag = 'v1'): string {
    const config = this.registry.blob(Buffer.from('{"architecture":"amd64","os":"linux"}'), OCI_CONFIG);
    const layer = this.registry.blob(randomBytes(32), 'application/vnd.oci.image.layer.v1.tar');
    return this.registry.manifest(
      repository,
      { schemaVersion: 2, mediaType: OCI_MANIFEST, config, layers: [layer] },
      tag,
    ).digest;
  }

  /** The simple-signing payload, byte for byte as cosign writes it. */
  simpleSigning(repository: string, digest: string): Buffer {
    return Buffer.from(
      JSON.stringify({
        critical: {
          identity: { 'docker-reference': `${this.registry.access.registry}/${repository}` },
          image: { 'docker-manifest-digest': digest },
          type: 'cosign container image signature',
        },
        optional: null,
      }),
    );
  }

  classicSignature(repository: string, digest: string, privateKey: KeyObject): ClassicLayer {
    const payload = this.simpleSigning(repository, digest);
    return { payload, signature: sign('sha256', payload, privateKey) };
  }

  /** The `sha256-<hex>.sig` tag of `digest`, holding these layers. */
  pushSignatures(repository: string, digest: string, layers: readonly ClassicLayer[]): void {
    const config = this.registry.blob(Buffer.from('{"architecture":"","os":""}'), OCI_CONFIG);
    const blobs = layers.map((layer) =>
      this.registry.blob(layer.payload, SIMPLE_SIGNING, {
        'dev.cosignproject.cosign/signature': b64(layer.signature),
        ...certificateAnnotations(layer),
        ...(layer.timestamp
          ? {
              'dev.sigstore.cosign/rfc3161timestamp': JSON.stringify({
                SignedRFC3161Timestamp: b64(layer.timestamp),
              }),
            }
          : {}),
      }),
    );
    this.registry.manifest(
      repository,
      { schemaVersion: 2, mediaType: OCI_MANIFEST, config, layers: blobs },
      tagFor(digest, '.sig'),
    );
  }

  statement(repository: string, digest: string, predicateType: string): object {
    return {
      _type: 'https://in-toto.io/Statement/v0.1',
      predicateType,
      subject: [
        { name: `${this.registry.access.registry}/${repository}`, digest: { sha256: digest.slice(7) } },
      ],
      predicate: { builder: { id: 'https://github.com/acme/app/actions' }, buildType: 'https://example/ci' },
    };
  }

  /** The `sha256-<hex>.att` tag of `digest`, holding these envelopes. */
  pushAttestations(repository: string, digest: string, layers: readonly AttestationLayer[]): void {
    const config = this.registry.blob(Buffer.from('{"architecture":"","os":""}'), OCI_CONFIG);
    const blobs = layers.map((layer) =>
      this.registry.blob(Buffer.from(JSON.stringify(layer.envelope)), DSSE_ENVELOPE, {
        'dev.cosignproject.cosign/signature': '',
        predicateType: layer.predicateType,
        ...certificateAnnotations(layer),
      }),
    );
    this.registry.manifest(
      repository,
      { schemaVersion: 2, mediaType: OCI_MANIFEST, config, layers: blobs },
      tagFor(digest, '.att'),
    );
  }

  /**
   * A sigstore bundle as `--new-bundle-format` stores it: a manifest whose subject is the image,
   * listed in the fallback tag with the empty artifact type, or in the referrers API.
   */
  pushBundle(
    repository: string,
    digest: string,
    bundle: object,
    via: 'fallback tag' | 'referrers' = 'fallback tag',
  ): void {
    const config = this.registry.blob(Buffer.from('{}'), OCI_EMPTY);
    const layer = this.registry.blob(Buffer.from(JSON.stringify(bundle)), BUNDLE);
    const artifact = this.registry.manifest(repository, {
      schemaVersion: 2,
      mediaType: OCI_MANIFEST,
      artifactType: BUNDLE,
      config,
      layers: [layer],
      subject: { mediaType: OCI_MANIFEST, digest },
    });
    if (via === 'referrers')
      this.registry.addReferrer(repository, digest, { ...artifact, artifactType: BUNDLE });
    else this.registry.addToFallbackTag(repository, digest, { ...artifact, artifactType: OCI_EMPTY });
  }

  /** The statement `cosign sign --new-bundle-format` signs. */
  imageSignatureStatement(repository: string, digest: string): object {
    return {
      _type: 'https://in-toto.io/Statement/v1',
      subject: [
        { name: `${this.registry.access.registry}/${repository}`, digest: { sha256: digest.slice(7) } },
      ],
      predicateType: COSIGN_SIGN,
      predicate: {},
    };
  }
}

/** RFC 3161 timestamps as a bundle carries them (`timestampVerificationData`). */
export const timestampData = (timestamps: readonly Buffer[]): object =>
  timestamps.length > 0
    ? {
        timestampVerificationData: {
          rfc3161Timestamps: timestamps.map((t) => ({ signedTimestamp: b64(t) })),
        },
      }
    : {};

export const keyBundle = (dsseEnvelope: DsseEnvelope, timestamps: readonly Buffer[] = []): object => ({
  mediaType: BUNDLE,
  verificationMaterial: { publicKey: { hint: 'ci' }, ...timestampData(timestamps) },
  dsseEnvelope,
});

export const certificateBundle = (
  dsseEnvelope: DsseEnvelope,
  certificate: SigningCertificate,
  tlogEntries: readonly TlogEntry[] = [],
  timestamps: readonly Buffer[] = [],
): object => ({
  mediaType: BUNDLE,
  verificationMaterial: {
    certificate: { rawBytes: b64(certificate.der) },
    tlogEntries,
    ...timestampData(timestamps),
  },
  dsseEnvelope,
});

// Certificates: a local Fulcio-like CA, and leaves shaped like GitHub Actions' keyless ones.
x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);
export const EC = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' };
export const HOUR = 3_600_000;

export interface Authority {
  readonly keys: webcrypto.CryptoKeyPair;
  readonly certificate: x509.X509Certificate;
  readonly pem: string;
  readonly der: Buffer;
  readonly node: X509Certificate;
}

export interface SigningCertificate {
  readonly pem: string;
  readonly der: Buffer;
  readonly privateKey: KeyObject;
}

export const utf8String = (text: string): Uint8Array => {
  const bytes = Buffer.from(text, 'utf8');
  return new Uint8Array(Buffer.concat([Buffer.from([0x0c, bytes.length]), bytes]));
};

/** How an authority's certificate departs from a well-formed CA's, for the chain checks. */
export interface AuthorityOptions {
  /** basicConstraints CA; `undefined` leaves the extension out. Default true. */
  readonly ca?: boolean | undefined;
  /** basicConstraints pathLenConstraint; `null` sets none. Default 0 under a parent, 1 for a root. */
  readonly pathLength?: number | null;
  /** keyUsage flags; `null` leaves the extension out. Default keyCertSign and cRLSign. */
  readonly keyUsages?: number | null;
  /** extendedKeyUsage OIDs, as Fulcio's intermediate names code signing; none by default. */
  readonly usages?: string[];
}

export async function authority(
  name: string,
  parent?: Authority,
  options: AuthorityOptions = {},
): Promise<Authority> {
  const keys = await webcrypto.subtle.generateKey(EC, true, ['sign', 'verify']);
  const now = Date.now();
  const ca = 'ca' in options ? options.ca : true;
  const pathLength = options.pathLength === undefined ? (parent ? 0 : 1) : (options.pathLength ?? undefined);
  const keyUsages =
    options.keyUsages === undefined
      ? x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign
      : options.keyUsages;
  const extensions = [
    ...(ca === undefined ? [] : [new x509.BasicConstraintsExtension(ca, ca ? pathLength : undefined, true)]),
    ...(keyUsages === null ? [] : [new x509.KeyUsagesExtension(keyUsages, true)]),
    ...(options.usages ? [new x509.ExtendedKeyUsageExtension(options.usages)] : []),
    await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
  ];
  const validity = { notBefore: new Date(now - HOUR), notAfter: new Date(now + 24 * HOUR) };
  const certificate = parent
    ? await x509.X509CertificateGenerator.create({
        subject: `CN=${name}`,
        issuer: parent.certificate.subject,
        publicKey: keys.publicKey,
        signingKey: parent.keys.privateKey,
        signingAlgorithm: EC,
        ...validity,
        extensions: [...extensions, await x509.AuthorityKeyIdentifierExtension.create(parent.keys.publicKey)],
      })
    : await x509.X509CertificateGenerator.createSelfSigned({
        name: `CN=${name}`,
        keys,
        signingAlgorithm: EC,
        ...validity,
        extensions,
      });
  const der = Buffer.from(certificate.rawData);
  return { keys, certificate, pem: certificate.toString('pem'), der, node: new X509Certificate(der) };
}

/** An SCT to embed in a signing certificate, as Fulcio embeds the one its CT log returns. */
export interface EmbeddedSct {
  /** The log the SCT names. */
  readonly log: TransparencyLog;
  /** Whose key signs it; the log's own by default. */
  readonly signedBy?: TransparencyLog;
  /** Default: a second after the certificate's notBefore. */
  readonly timestamp?: Date;
  /** Sign another certificate's precertificate instead, as an SCT copied from it would be. */
  readonly overAnotherCertificate?: boolean;
}

export const SCT_LIST_EXTENSION = '1.3.6.1.4.1.11129.2.4.2';

const tlsVector16 = (bytes: Buffer): Buffer =>
  Buffer.concat([Buffer.from([bytes.length >> 8, bytes.length & 0xff]), bytes]);

/**
 * An RFC 6962 v1 SCT over `precertificate` (a TBSCertificate without the SCT list), issued under
 * the key `issuerSpki`: written here from RFC 6962 §3.2 rather than taken from the code.
 */
export function signedCertificateTimestamp(
  precertificate: Buffer,
  issuerSpki: Buffer,
  sct: Required<Pick<EmbeddedSct, 'log' | 'timestamp'>> & { signedBy?: TransparencyLog },
): Buffer {
  const timestamp = Buffer.alloc(8);
  timestamp.writeBigUInt64BE(BigInt(sct.timestamp.getTime()));
  const length = Buffer.from([
    (precertificate.length >> 16) & 0xff,
    (precertificate.length >> 8) & 0xff,
    precertificate.length & 0xff,
  ]);
  const signed = Buffer.concat([
    Buffer.from([0, 0]),
    timestamp,
    Buffer.from([0, 1]),
    sha256(issuerSpki),
    length,
    precertificate,
    Buffer.from([0, 0]),
  ]);
  const signature = sign('sha256', signed, (sct.signedBy ?? sct.log).privateKey);
  return Buffer.concat([
    Buffer.from([0]),
    sct.log.id,
    timestamp,
    Buffer.from([0, 0]),
    Buffer.from([4, 3]),
    tlsVector16(signature),
  ]);
}

/** The X.509 extension that embeds these SCTs: an OCTET STRING around the TLS-encoded list. */
export function sctListExtension(scts: readonly Buffer[]): x509.Extension {
  const list = tlsVector16(Buffer.concat(scts.map(tlsVector16)));
  return new x509.Extension(SCT_LIST_EXTENSION, false, AsnConvert.serialize(new OctetString(list)));
}

/** The TBSCertificate bytes of a DER certificate, exactly as they were signed. */
export const tbsOf = (der: ArrayBuffer | Buffer): Buffer =>
  Buffer.from(AsnConvert.parse(der, Certificate).tbsCertificateRaw!);

export async function signingCertificate(
  issuer: Authority,
  options: {
    subject?: string;
    /** More URI SANs beside `subject`, as a CA other than Fulcio may write. */
    moreSubjects?: readonly string[];
    oidcIssuer?: string;
    /** extendedKeyUsage OIDs; `null` leaves the extension out. Default code signing. */
    usages?: string[] | null;
    /** keyUsage flags; `null` leaves the extension out. Default digitalSignature. */
    keyUsages?: number | null;
    /** Adds basicConstraints CA=true, which a signing certificate must not have. */
    ca?: boolean;
    notBefore?: Date;
    notAfter?: Date;
    scts?: readonly EmbeddedSct[];
  } = {},
): Promise<SigningCertificate> {
  const keys = await webcrypto.subtle.generateKey(EC, true, ['sign', 'verify']);
  const now = Date.now();
  const keyUsages = options.keyUsages === undefined ? x509.KeyUsageFlags.digitalSignature : options.keyUsages;
  const usages = options.usages === undefined ? [x509.ExtendedKeyUsage.codeSigning] : options.usages;
  const notBefore = options.notBefore ?? new Date(now - 60_000);
  const fields = {
    subject: 'CN=sigstore',
    issuer: issuer.certificate.subject,
    publicKey: keys.publicKey,
    signingKey: issuer.keys.privateKey,
    signingAlgorithm: EC,
    notBefore,
    notAfter: options.notAfter ?? new Date(now + HOUR),
  };
  const extensions = [
    ...(options.ca ? [new x509.BasicConstraintsExtension(true, undefined, true)] : []),
    ...(keyUsages === null ? [] : [new x509.KeyUsagesExtension(keyUsages, true)]),
    ...(usages === null ? [] : [new x509.ExtendedKeyUsageExtension(usages)]),
    new x509.SubjectAlternativeNameExtension([
      { type: 'url', value: options.subject ?? WORKFLOW },
      ...(options.moreSubjects ?? []).map((value) => ({ type: 'url' as const, value })),
    ]),
    new x509.Extension(FULCIO_ISSUER_V2, false, utf8String(options.oidcIssuer ?? GITHUB_ISSUER)),
    await x509.AuthorityKeyIdentifierExtension.create(issuer.keys.publicKey),
  ];
  // An embedded SCT signs the certificate without itself (RFC 6962 §3.2): make that one first,
  // with the same serial number, then the certificate with the SCT list appended.
  const serialNumber = `01${randomBytes(15).toString('hex')}`;
  const precertificate = async (serial: string): Promise<Buffer> =>
    tbsOf(
      (await x509.X509CertificateGenerator.create({ ...fields, serialNumber: serial, extensions })).rawData,
    );
  const scts = [];
  for (const sct of options.scts ?? [])
    scts.push(
      signedCertificateTimestamp(
        await precertificate(
          sct.overAnotherCertificate ? `02${randomBytes(15).toString('hex')}` : serialNumber,
        ),
        Buffer.from(issuer.certificate.publicKey.rawData),
        { ...sct, timestamp: sct.timestamp ?? new Date(notBefore.getTime() + 1_000) },
      ),
    );
  const certificate = await x509.X509CertificateGenerator.create({
    ...fields,
    serialNumber,
    extensions: scts.length > 0 ? [...extensions, sctListExtension(scts)] : extensions,
  });
  const pkcs8 = Buffer.from(await webcrypto.subtle.exportKey('pkcs8', keys.privateKey));
  return {
    pem: certificate.toString('pem'),
    der: Buffer.from(certificate.rawData),
    privateKey: createPrivateKey({ key: pkcs8, format: 'der', type: 'pkcs8' }),
  };
}

// A transparency log: RFC 9162 Merkle trees, and checkpoints as signed notes, computed here.
export interface TransparencyLog {
  readonly origin: string;
  readonly privateKey: KeyObject;
  readonly spki: Buffer;
  /** SHA-256 of the SPKI: the log's id, and (its first 4 bytes) the key hint of its signatures. */
  readonly id: Buffer;
}

export function transparencyLog(origin: string): TransparencyLog {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const spki = publicKey.export({ type: 'spki', format: 'der' });
  return { origin, privateKey, spki, id: sha256(spki) };
}

/**
 * A Rekor v2 (rekor-tiles) log: an Ed25519 key, named (and its checkpoints' signatures hinted) by
 * its signed-note key id, SHA-256(origin ‖ 0x0A ‖ 0x01 ‖ key), as C2SP's signed-note defines it
 * for Ed25519, rather than by the hash of its key as Rekor v1 is.
 * https://github.com/C2SP/C2SP/blob/main/signed-note.md
 */
export function rekorV2Log(origin: string): TransparencyLog {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  const spki = publicKey.export({ type: 'spki', format: 'der' });
  const raw = spki.subarray(spki.length - 32);
  return {
    origin,
    privateKey,
    spki,
    id: sha256(Buffer.concat([Buffer.from(`${origin}\n`), Buffer.from([1]), raw])),
  };
}

export function checkpoint(log: TransparencyLog, size: number, root: Buffer, signedBy = log): string {
  const note = `${log.origin}\n${size}\n${b64(root)}\n`;
  const key = signedBy.privateKey;
  const signature = Buffer.concat([
    log.id.subarray(0, 4),
    sign(key.asymmetricKeyType === 'ed25519' ? null : 'sha256', Buffer.from(note), key),
  ]);
  return `${note}\n— ${log.origin} ${b64(signature)}\n`;
}

/** What Rekor records for a DSSE envelope: the `dsse` kind, v0.0.1. */
export function dsseEntryBody(envelope: DsseEnvelope, verifierPem: string): Buffer {
  return Buffer.from(
    JSON.stringify({
      apiVersion: '0.0.1',
      kind: 'dsse',
      spec: {
        payloadHash: {
          algorithm: 'sha256',
          value: sha256(Buffer.from(envelope.payload, 'base64')).toString('hex'),
        },
        signatures: envelope.signatures.map((s) => ({ signature: s.sig, verifier: b64(verifierPem) })),
      },
    }),
  );
}

/**
 * What Rekor v2 records for a DSSE envelope: `dsse` 0.0.2, its protobuf Entry as JSON, with the
 * payload hash and signatures in base64 and the verifier: a key's SPKI, or a certificate.
 * https://github.com/sigstore/rekor-tiles/blob/main/api/proto/rekor/v2/dsse.proto
 */
export function dsseV002EntryBody(
  envelope: DsseEnvelope,
  verifier: Buffer | { readonly certificate: Buffer },
): Buffer {
  return Buffer.from(
    JSON.stringify({
      apiVersion: '0.0.2',
      kind: 'dsse',
      spec: {
        dsseV002: {
          payloadHash: {
            algorithm: 'SHA2_256',
            digest: b64(sha256(Buffer.from(envelope.payload, 'base64'))),
          },
          signatures: envelope.signatures.map((s) => ({
            content: s.sig,
            verifier: {
              ...(Buffer.isBuffer(verifier)
                ? { publicKey: { rawBytes: b64(verifier) } }
                : { x509Certificate: { rawBytes: b64(verifier.certificate) } }),
              keyDetails: 'PKIX_ECDSA_P256_SHA_256',
            },
          })),
        },
      },
    }),
  );
}

/** A Rekor v2 entry: an inclusion proof and a checkpoint, and no signed entry timestamp or time. */
export function logEntryV2(log: TransparencyLog, body: Buffer): TlogEntry {
  const entry = logEntry(log, body);
  return {
    logIndex: entry.logIndex,
    logId: entry.logId,
    kindVersion: { kind: 'dsse', version: '0.0.2' },
    canonicalizedBody: entry.canonicalizedBody,
    inclusionProof: entry.inclusionProof,
  };
}

/** The entry for `body` at index 2 of a 5-leaf tree, with its inclusion proof and checkpoint. */
export function logEntry(log: TransparencyLog, body: Buffer, checkpointSigner = log): TlogEntry {
  const index = 2;
  const leaves = [randomBytes(40), randomBytes(40), body, randomBytes(40), randomBytes(40)].map(leafHashOf);
  const root = treeHash(leaves);
  return {
    logIndex: String(index),
    logId: { keyId: b64(log.id) },
    kindVersion: { kind: 'dsse', version: '0.0.1' },
    integratedTime: String(Math.floor(Date.now() / 1000)),
    canonicalizedBody: b64(body),
    inclusionProof: {
      logIndex: String(index),
      rootHash: b64(root),
      treeSize: String(leaves.length),
      hashes: inclusionPath(index, leaves).map((h) => b64(h)),
      checkpoint: { envelope: checkpoint(log, leaves.length, root, checkpointSigner) },
    },
  };
}

const logInstance = (
  log: TransparencyLog,
  baseUrl: string,
  validFor: { start: string; end?: string },
): object => ({
  baseUrl,
  hashAlgorithm: 'SHA2_256',
  publicKey: {
    rawBytes: b64(log.spki),
    keyDetails: log.privateKey.asymmetricKeyType === 'ed25519' ? 'PKIX_ED25519' : 'PKIX_ECDSA_P256_SHA_256',
    validFor,
  },
  logId: { keyId: b64(log.id) },
});

/**
 * A sigstore TrustedRoot document, as `cosign trusted-root create` writes one. `ca` may be a
 * chain, issuing certificate first and root last, as sigstore's own root lists Fulcio's
 * intermediate before its root. CT logs are valid from 2020 on unless `ctLogValidFor` says otherwise.
 */
export function trustedRootDocument(
  ca: Authority | readonly Authority[],
  logs: readonly TransparencyLog[],
  ctLogs: readonly TransparencyLog[] = [],
  ctLogValidFor: { start: string; end?: string } = { start: '2020-01-01T00:00:00Z' },
  timestampAuthorities: readonly (readonly Buffer[])[] = [],
): string {
  const chain = Array.isArray(ca) ? (ca as readonly Authority[]) : [ca as Authority];
  return JSON.stringify({
    mediaType: 'application/vnd.dev.sigstore.trustedroot+json;version=0.1',
    tlogs: logs.map((log) => logInstance(log, 'https://rekor.example', { start: '2020-01-01T00:00:00Z' })),
    certificateAuthorities: [
      {
        subject: { organization: 'acme', commonName: 'test fulcio' },
        uri: 'https://fulcio.example',
        certChain: { certificates: chain.map((certificate) => ({ rawBytes: b64(certificate.der) })) },
        validFor: { start: '2020-01-01T00:00:00Z' },
      },
    ],
    ctlogs: ctLogs.map((log) => logInstance(log, 'https://ctfe.example', ctLogValidFor)),
    timestampAuthorities: timestampAuthorities.map((chain) => ({
      subject: { organization: 'acme', commonName: 'test tsa' },
      uri: 'https://tsa.example/api/v1/timestamp',
      certChain: { certificates: chain.map((der) => ({ rawBytes: b64(der) })) },
      validFor: { start: '2020-01-01T00:00:00Z' },
    })),
  });
}

/**
 * Trust in `keys` and `certificates` together, with what a rule may set beside them (timestamps,
 * Notary Project trust, a threshold), hashed over all of it as a compiled rule's trust is: the
 * verification cache keys on the hash, so trust put together by hand must not reuse another's.
 */
export const trustOf = (
  keys: readonly TrustedKey[],
  certificates?: CertificateTrust,
  more: Pick<SignatureTrust, 'timestamps' | 'notation' | 'threshold'> = {},
): SignatureTrust => ({
  keys,
  ...(certificates ? { certificates } : {}),
  ...more,
  hash: trustHash(keys, certificates, more),
});

export const byKeys = (...pems: string[]): SignatureTrust =>
  trustOf(pems.map((pem, index) => trustedKey(pem, `cosign-${index}.pub`)));

/** Trust in certificate identities; without CT logs unless they are given, as with a `caFile`. */
export const byIdentity = (
  material: Omit<CertificateTrust, 'ctLogs'> & Partial<Pick<CertificateTrust, 'ctLogs'>>,
): SignatureTrust => trustOf([], { ...material, ctLogs: material.ctLogs ?? [] });

/**
 * Trust in these identities' certificates that `authorities` issued, with no transparency log:
 * what a policy's `caFile` gives.
 */
export const byCaFile = (
  authorities: readonly Authority[],
  identities: readonly TrustedIdentity[],
): SignatureTrust =>
  byIdentity({
    authorities: authorities.map((authority) => authority.node),
    identities,
    requireTransparencyLog: false,
    logs: [],
  });

/** What a keyless signer and the policy trusting it share: a Fulcio, its logs and the trust in both. */
export interface KeylessTrust {
  /** The CA that issues signing certificates, as Fulcio does. */
  readonly fulcio: Authority;
  /** The transparency logs the trusted root lists, Rekor's first. */
  readonly logs: readonly TransparencyLog[];
  /** A signing certificate of fulcio's, for WORKFLOW. */
  readonly certificate: SigningCertificate;
  /** Trust in WORKFLOW's certificates through a TrustedRoot listing fulcio and the logs, an inclusion proof required. */
  readonly trust: SignatureTrust;
}

/**
 * A Fulcio and Rekor logs of the caller's own, as `cosign sign` over sigstore's public-good instance
 * meets them, with trust in them as a policy's `certificates.trustedRoot` with
 * `requireTransparencyLog` gives it.
 */
export async function keylessTrust(
  logs: readonly TransparencyLog[] = [transparencyLog('rekor.example - 1')],
): Promise<KeylessTrust> {
  const fulcio = await authority('test fulcio');
  const root = readTrustedRoot(trustedRootDocument(fulcio, logs), 'trusted_root.json');
  return {
    fulcio,
    logs,
    certificate: await signingCertificate(fulcio),
    trust: byIdentity({
      authorities: root.authorities,
      logs: root.logs,
      identities: [{ issuer: GITHUB_ISSUER, subject: WORKFLOW }],
      requireTransparencyLog: true,
    }),
  };
}

export const deadlineIn = (ms = 5_000): RegistryDeadline => ({
  signal: AbortSignal.timeout(ms),
  deadlineAt: Date.now() + ms,
});
