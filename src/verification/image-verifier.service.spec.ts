import * as x509 from '@peculiar/x509';
import {
  KeyObject,
  X509Certificate,
  createHash,
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  randomBytes,
  sign,
  webcrypto,
} from 'node:crypto';
import { IncomingMessage, Server, ServerResponse } from 'node:http';
import { ManifestDescriptor, RegistryAccess, RegistryClient, RegistryDeadline } from '../registry';
import { closeServer, listenOnLoopback } from '../testing/loopback-server';
import {
  merkleInclusionPath as inclusionPath,
  merkleLeafHash as leafHashOf,
  merkleTreeHash as treeHash,
} from '../testing/merkle-tree';
import type { DsseEnvelope, TlogEntry } from './cosign-evidence';
import { ImageVerifier, VerificationRequest, VerificationTarget } from './image-verifier.service';
import {
  CertificateTrust,
  SignatureTrust,
  TrustedIdentity,
  readTrustedRoot,
  trustHash,
  trustedKey,
} from './trust';

// What cosign v2.6.5 writes, as read from a real registry on this machine (see SUPPLY-CHAIN.md).
const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
const OCI_INDEX = 'application/vnd.oci.image.index.v1+json';
const OCI_EMPTY = 'application/vnd.oci.empty.v1+json';
const OCI_CONFIG = 'application/vnd.oci.image.config.v1+json';
const SIMPLE_SIGNING = 'application/vnd.dev.cosign.simplesigning.v1+json';
const DSSE_ENVELOPE = 'application/vnd.dsse.envelope.v1+json';
const BUNDLE = 'application/vnd.dev.sigstore.bundle.v0.3+json';
const IN_TOTO = 'application/vnd.in-toto+json';
const SLSA = 'https://slsa.dev/provenance/v0.2';
const COSIGN_SIGN = 'https://sigstore.dev/cosign/sign/v1';
const WORKFLOW = 'https://github.com/acme/app/.github/workflows/ci.yml@refs/heads/main';
const GITHUB_ISSUER = 'https://token.actions.githubusercontent.com';
const FULCIO_ISSUER_V2 = '1.3.6.1.4.1.57264.1.8';

const sha256 = (bytes: Buffer | string): Buffer => createHash('sha256').update(bytes).digest();
const digestOf = (bytes: Buffer): string => `sha256:${sha256(bytes).toString('hex')}`;
const b64 = (bytes: Buffer | string): string => Buffer.from(bytes).toString('base64');
const tagFor = (digest: string, suffix = ''): string => `${digest.replace(':', '-')}${suffix}`;

/**
 * A registry in-process, serving what tests put in it the way distribution does: manifests by tag
 * or digest, blobs, and (only where a test says so) the OCI 1.1 referrers API; 404 for the rest.
 * It can also answer everything with HTTP 500, or never answer at all.
 */
class FakeRegistry {
  readonly requests: string[] = [];
  behaviour: 'serve' | 'fail' | 'hang' = 'serve';
  private readonly manifests = new Map<string, { bytes: Buffer; mediaType: string }>();
  private readonly tags = new Map<string, string>();
  private readonly blobs = new Map<string, Buffer>();
  private readonly referrers = new Map<string, ManifestDescriptor[]>();
  private readonly fallbackIndexes = new Map<string, ManifestDescriptor[]>();
  private server?: Server;
  private port = 0;

  async start(): Promise<void> {
    ({ server: this.server, port: this.port } = await listenOnLoopback((request, response) =>
      this.answer(request, response),
    ));
  }

  async stop(): Promise<void> {
    if (this.server) await closeServer(this.server);
  }

  get access(): RegistryAccess {
    return {
      registry: `127.0.0.1:${this.port}`,
      baseUrl: `http://127.0.0.1:${this.port}`,
      insecure: true,
      policyLists: () => false,
    };
  }

  blob(bytes: Buffer, mediaType: string, annotations?: Record<string, string>): ManifestDescriptor {
    const digest = digestOf(bytes);
    this.blobs.set(digest, bytes);
    return { mediaType, digest, size: bytes.length, ...(annotations ? { annotations } : {}) };
  }

  manifest(
    repository: string,
    json: { readonly mediaType: string } & Record<string, unknown>,
    tag?: string,
  ): ManifestDescriptor {
    const bytes = Buffer.from(JSON.stringify(json));
    const digest = digestOf(bytes);
    this.manifests.set(`${repository}@${digest}`, { bytes, mediaType: json.mediaType });
    if (tag !== undefined) this.tags.set(`${repository}:${tag}`, digest);
    return { mediaType: json.mediaType, digest, size: bytes.length };
  }

  /** Lists an artifact under the referrers API, which this registry then offers for `subject`. */
  addReferrer(repository: string, subject: string, descriptor: ManifestDescriptor): void {
    const key = `${repository}@${subject}`;
    this.referrers.set(key, [...(this.referrers.get(key) ?? []), descriptor]);
  }

  /** Lists an artifact in the referrers fallback tag `sha256-<hex>`, as cosign does on distribution 2.8. */
  addToFallbackTag(repository: string, subject: string, descriptor: ManifestDescriptor): void {
    const key = `${repository}@${subject}`;
    const manifests = [...(this.fallbackIndexes.get(key) ?? []), descriptor];
    this.fallbackIndexes.set(key, manifests);
    this.manifest(repository, { schemaVersion: 2, mediaType: OCI_INDEX, manifests }, tagFor(subject));
  }

  /** How many times the manifest under this tag or digest was fetched. */
  manifestRequests(repository: string, reference: string): number {
    return this.requests.filter((r) => r === `GET /v2/${repository}/manifests/${reference}`).length;
  }

  private answer(request: IncomingMessage, response: ServerResponse): void {
    this.requests.push(`${request.method} ${request.url}`);
    if (this.behaviour === 'hang') return;
    if (this.behaviour === 'fail') {
      response.writeHead(500).end();
      return;
    }
    const [, repository, kind, reference] =
      /^\/v2\/(.+)\/(manifests|blobs|referrers)\/([^/]+)$/.exec(request.url ?? '') ?? [];
    const found = kind ? this.find(repository, kind, decodeURIComponent(reference)) : undefined;
    if (!found) {
      response.writeHead(404, { 'Content-Type': 'application/json' }).end('{"errors":[{"code":"UNKNOWN"}]}');
      return;
    }
    response.writeHead(200, {
      'Content-Type': found.mediaType,
      'Content-Length': found.bytes.length,
      ...(found.digest ? { 'Docker-Content-Digest': found.digest } : {}),
    });
    response.end(request.method === 'HEAD' ? undefined : found.bytes);
  }

  private find(
    repository: string,
    kind: string,
    reference: string,
  ): { bytes: Buffer; mediaType: string; digest?: string } | undefined {
    if (kind === 'blobs') {
      const bytes = this.blobs.get(reference);
      return bytes && { bytes, mediaType: 'application/octet-stream', digest: reference };
    }
    if (kind === 'manifests') {
      const digest = reference.startsWith('sha256:')
        ? reference
        : this.tags.get(`${repository}:${reference}`);
      const manifest = digest === undefined ? undefined : this.manifests.get(`${repository}@${digest}`);
      return manifest && { ...manifest, digest };
    }
    const manifests = this.referrers.get(`${repository}@${reference}`);
    return (
      manifests && {
        bytes: Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: OCI_INDEX, manifests })),
        mediaType: OCI_INDEX,
      }
    );
  }
}

interface KeyPair {
  readonly privateKey: KeyObject;
  readonly publicPem: string;
}

function keyPair(): KeyPair {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  return { privateKey, publicPem: publicKey.export({ type: 'spki', format: 'pem' }).toString() };
}

const fingerprintOf = (pem: string): string =>
  `sha256:${sha256(createPublicKey(pem).export({ type: 'spki', format: 'der' }))
    .toString('hex')
    .slice(0, 16)}`;

/** DSSE's pre-authentication encoding, written here from the spec rather than taken from the code. */
const pae = (payloadType: string, payload: Buffer): Buffer =>
  Buffer.concat([
    Buffer.from(`DSSEv1 ${Buffer.byteLength(payloadType)} ${payloadType} ${payload.length} `),
    payload,
  ]);

function envelopeOf(statement: object, privateKey: KeyObject): DsseEnvelope {
  const payload = Buffer.from(JSON.stringify(statement));
  return {
    payloadType: IN_TOTO,
    payload: b64(payload),
    signatures: [{ keyid: '', sig: b64(sign('sha256', pae(IN_TOTO, payload), privateKey)) }],
  };
}

interface ClassicLayer {
  readonly payload: Buffer;
  readonly signature: Buffer;
  readonly certificate?: string;
  readonly chain?: string;
}

interface AttestationLayer {
  readonly envelope: DsseEnvelope;
  readonly predicateType: string;
  readonly certificate?: string;
  readonly chain?: string;
}

const certificateAnnotations = (layer: { certificate?: string; chain?: string }): Record<string, string> => ({
  ...(layer.certificate ? { 'dev.sigstore.cosign/certificate': layer.certificate } : {}),
  ...(layer.chain ? { 'dev.sigstore.cosign/chain': layer.chain } : {}),
});

/** Writes what `cosign sign` and `cosign attest` leave in a registry, signed in-process. */
class CosignWriter {
  constructor(private readonly registry: FakeRegistry) {}

  image(repository: string): string {
    const config = this.registry.blob(Buffer.from('{"architecture":"amd64","os":"linux"}'), OCI_CONFIG);
    const layer = this.registry.blob(randomBytes(32), 'application/vnd.oci.image.layer.v1.tar');
    return this.registry.manifest(
      repository,
      { schemaVersion: 2, mediaType: OCI_MANIFEST, config, layers: [layer] },
      'v1',
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

const keyBundle = (dsseEnvelope: DsseEnvelope): object => ({
  mediaType: BUNDLE,
  verificationMaterial: { publicKey: { hint: 'ci' } },
  dsseEnvelope,
});

const certificateBundle = (
  dsseEnvelope: DsseEnvelope,
  certificate: SigningCertificate,
  tlogEntries: readonly TlogEntry[] = [],
): object => ({
  mediaType: BUNDLE,
  verificationMaterial: { certificate: { rawBytes: b64(certificate.der) }, tlogEntries },
  dsseEnvelope,
});

// Certificates: a local Fulcio-like CA, and leaves shaped like GitHub Actions' keyless ones.
x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);
const EC = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' };
const HOUR = 3_600_000;

interface Authority {
  readonly keys: webcrypto.CryptoKeyPair;
  readonly certificate: x509.X509Certificate;
  readonly pem: string;
  readonly der: Buffer;
  readonly node: X509Certificate;
}

interface SigningCertificate {
  readonly pem: string;
  readonly der: Buffer;
  readonly privateKey: KeyObject;
}

const utf8String = (text: string): Uint8Array => {
  const bytes = Buffer.from(text, 'utf8');
  return new Uint8Array(Buffer.concat([Buffer.from([0x0c, bytes.length]), bytes]));
};

async function authority(name: string, parent?: Authority): Promise<Authority> {
  const keys = await webcrypto.subtle.generateKey(EC, true, ['sign', 'verify']);
  const now = Date.now();
  const extensions = [
    new x509.BasicConstraintsExtension(true, parent ? 0 : 1, true),
    new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
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

async function signingCertificate(
  issuer: Authority,
  options: {
    subject?: string;
    oidcIssuer?: string;
    usages?: string[];
    notBefore?: Date;
    notAfter?: Date;
  } = {},
): Promise<SigningCertificate> {
  const keys = await webcrypto.subtle.generateKey(EC, true, ['sign', 'verify']);
  const now = Date.now();
  const certificate = await x509.X509CertificateGenerator.create({
    subject: 'CN=sigstore',
    issuer: issuer.certificate.subject,
    publicKey: keys.publicKey,
    signingKey: issuer.keys.privateKey,
    signingAlgorithm: EC,
    notBefore: options.notBefore ?? new Date(now - 60_000),
    notAfter: options.notAfter ?? new Date(now + HOUR),
    extensions: [
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      new x509.ExtendedKeyUsageExtension(options.usages ?? [x509.ExtendedKeyUsage.codeSigning]),
      new x509.SubjectAlternativeNameExtension([{ type: 'url', value: options.subject ?? WORKFLOW }]),
      new x509.Extension(FULCIO_ISSUER_V2, false, utf8String(options.oidcIssuer ?? GITHUB_ISSUER)),
      await x509.AuthorityKeyIdentifierExtension.create(issuer.keys.publicKey),
    ],
  });
  const pkcs8 = Buffer.from(await webcrypto.subtle.exportKey('pkcs8', keys.privateKey));
  return {
    pem: certificate.toString('pem'),
    der: Buffer.from(certificate.rawData),
    privateKey: createPrivateKey({ key: pkcs8, format: 'der', type: 'pkcs8' }),
  };
}

// A transparency log: RFC 9162 Merkle trees, and checkpoints as signed notes, computed here.
interface TransparencyLog {
  readonly origin: string;
  readonly privateKey: KeyObject;
  readonly spki: Buffer;
  /** SHA-256 of the SPKI: the log's id, and (its first 4 bytes) the key hint of its signatures. */
  readonly id: Buffer;
}

function transparencyLog(origin: string): TransparencyLog {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const spki = publicKey.export({ type: 'spki', format: 'der' });
  return { origin, privateKey, spki, id: sha256(spki) };
}

function checkpoint(log: TransparencyLog, size: number, root: Buffer, signedBy = log): string {
  const note = `${log.origin}\n${size}\n${b64(root)}\n`;
  const signature = Buffer.concat([
    log.id.subarray(0, 4),
    sign('sha256', Buffer.from(note), signedBy.privateKey),
  ]);
  return `${note}\n— ${log.origin} ${b64(signature)}\n`;
}

/** What Rekor records for a DSSE envelope: the `dsse` kind, v0.0.1. */
function dsseEntryBody(envelope: DsseEnvelope, verifierPem: string): Buffer {
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

/** The entry for `body` at index 2 of a 5-leaf tree, with its inclusion proof and checkpoint. */
function logEntry(log: TransparencyLog, body: Buffer, checkpointSigner = log): TlogEntry {
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

/** A sigstore TrustedRoot document, as `cosign trusted-root create` writes one. */
function trustedRootDocument(ca: Authority, logs: readonly TransparencyLog[]): string {
  return JSON.stringify({
    mediaType: 'application/vnd.dev.sigstore.trustedroot+json;version=0.1',
    tlogs: logs.map((log) => ({
      baseUrl: 'https://rekor.example',
      hashAlgorithm: 'SHA2_256',
      publicKey: {
        rawBytes: b64(log.spki),
        keyDetails: 'PKIX_ECDSA_P256_SHA_256',
        validFor: { start: '2020-01-01T00:00:00Z' },
      },
      logId: { keyId: b64(log.id) },
    })),
    certificateAuthorities: [
      {
        subject: { organization: 'acme', commonName: 'test fulcio' },
        uri: 'https://fulcio.example',
        certChain: { certificates: [{ rawBytes: b64(ca.der) }] },
        validFor: { start: '2020-01-01T00:00:00Z' },
      },
    ],
    ctlogs: [],
    timestampAuthorities: [],
  });
}

const byKeys = (...pems: string[]): SignatureTrust => {
  const keys = pems.map((pem, index) => trustedKey(pem, `cosign-${index}.pub`));
  return { keys, hash: trustHash(keys, undefined) };
};

const byIdentity = (certificates: CertificateTrust): SignatureTrust => ({
  keys: [],
  certificates,
  hash: trustHash([], certificates),
});

const deadlineIn = (ms = 5_000): RegistryDeadline => ({
  signal: AbortSignal.timeout(ms),
  deadlineAt: Date.now() + ms,
});

describe(ImageVerifier.name, () => {
  const registry = new FakeRegistry();
  const cosign = new CosignWriter(registry);
  const client = new RegistryClient();
  const ci = keyPair();
  const stranger = keyPair();
  let sut: ImageVerifier;
  let repositories = 0;
  let repository: string;

  const target = (digest: string, overrides: Partial<VerificationTarget> = {}): VerificationTarget => ({
    access: registry.access,
    repository,
    digest,
    policyRevision: 'r1',
    successTtlMs: 600_000,
    failureTtlMs: 10_000,
    ...overrides,
  });
  const signatures = (trust: SignatureTrust): VerificationRequest => ({ kind: 'signatures', trust });
  const attestations = (trust: SignatureTrust, predicateType = SLSA): VerificationRequest => ({
    kind: 'attestations',
    trust,
    predicateType,
  });

  beforeAll(async () => {
    await registry.start();
  });

  afterAll(async () => {
    await client.onModuleDestroy();
    await registry.stop();
  });

  beforeEach(() => {
    registry.behaviour = 'serve';
    repository = `demo/app-${++repositories}`;
    sut = new ImageVerifier(client);
  });

  afterEach(() => {
    jest.restoreAllMocks();
  });

  describe('signatures by key', () => {
    it("verifies cosign's classic .sig signature by a trusted key, naming the key and its source", async () => {
      const digest = cosign.image(repository);
      cosign.pushSignatures(repository, digest, [cosign.classicSignature(repository, digest, ci.privateKey)]);

      const result = await sut.verify(target(digest), signatures(byKeys(ci.publicPem)), deadlineIn());

      expect(result).toMatchObject({ verified: true, digest, cache: 'miss' });
      expect(result.reason).toBeUndefined();
      expect(result.evidence).toEqual([
        { where: 'sig tag', verifiedBy: `key ${fingerprintOf(ci.publicPem)} (cosign-0.pub)` },
      ]);
    });

    it('verifies a sigstore bundle found through the referrers fallback tag', async () => {
      const digest = cosign.image(repository);
      const envelope = envelopeOf(cosign.imageSignatureStatement(repository, digest), ci.privateKey);
      cosign.pushBundle(repository, digest, keyBundle(envelope));

      const result = await sut.verify(
        target(digest),
        signatures(byKeys(stranger.publicPem, ci.publicPem)),
        deadlineIn(),
      );

      expect(result.verified).toBe(true);
      expect(result.evidence).toEqual([
        {
          where: 'sigstore bundle',
          verifiedBy: `key ${fingerprintOf(ci.publicPem)} (cosign-1.pub)`,
          predicateType: COSIGN_SIGN,
        },
      ]);
    });

    it('verifies a sigstore bundle found through the referrers API', async () => {
      const digest = cosign.image(repository);
      const envelope = envelopeOf(cosign.imageSignatureStatement(repository, digest), ci.privateKey);
      cosign.pushBundle(repository, digest, keyBundle(envelope), 'referrers');

      const result = await sut.verify(target(digest), signatures(byKeys(ci.publicPem)), deadlineIn());

      expect(result.verified).toBe(true);
    });

    it("says 'no signature' for an image nothing was written about", async () => {
      const digest = cosign.image(repository);

      const result = await sut.verify(target(digest), signatures(byKeys(ci.publicPem)), deadlineIn());

      expect(result).toMatchObject({ verified: false, reason: 'no signature', evidence: [] });
      expect(result.registryFailure).toBeUndefined();
    });

    it("says 'no signature by a trusted key' for a signature by another key", async () => {
      const digest = cosign.image(repository);
      cosign.pushSignatures(repository, digest, [
        cosign.classicSignature(repository, digest, stranger.privateKey),
      ]);

      const result = await sut.verify(target(digest), signatures(byKeys(ci.publicPem)), deadlineIn());

      expect(result).toMatchObject({ verified: false, reason: 'no signature by a trusted key' });
      expect(result.evidence).toEqual([{ where: 'sig tag', problem: 'not signed by a trusted key' }]);
    });

    it("says 'signature for another digest' for a valid .sig of one digest copied under another's tag", async () => {
      const signed = cosign.image(repository);
      const replayed = cosign.image(repository);
      cosign.pushSignatures(repository, replayed, [
        cosign.classicSignature(repository, signed, ci.privateKey),
      ]);

      const result = await sut.verify(target(replayed), signatures(byKeys(ci.publicPem)), deadlineIn());

      expect(result).toMatchObject({ verified: false, reason: 'signature for another digest' });
    });

    it('does not count a bundle signed for another digest', async () => {
      const signed = cosign.image(repository);
      const replayed = cosign.image(repository);
      const envelope = envelopeOf(cosign.imageSignatureStatement(repository, signed), ci.privateKey);
      cosign.pushBundle(repository, replayed, keyBundle(envelope));

      const result = await sut.verify(target(replayed), signatures(byKeys(ci.publicPem)), deadlineIn());

      expect(result).toMatchObject({ verified: false, reason: 'signature for another digest' });
    });

    it('never counts a forged envelope found through referrers, however well formed', async () => {
      const digest = cosign.image(repository);
      const forged = envelopeOf(cosign.imageSignatureStatement(repository, digest), ci.privateKey);
      const otherPayload = envelopeOf(
        cosign.imageSignatureStatement(repository, `sha256:${'1'.repeat(64)}`),
        ci.privateKey,
      );
      // A real signature by the trusted key, but over another payload; then plain garbage.
      cosign.pushBundle(
        repository,
        digest,
        keyBundle({ ...forged, signatures: otherPayload.signatures }),
        'referrers',
      );
      cosign.pushBundle(
        repository,
        digest,
        keyBundle({ ...forged, signatures: [{ sig: b64('not a signature at all') }] }),
        'referrers',
      );

      const result = await sut.verify(target(digest), signatures(byKeys(ci.publicPem)), deadlineIn());

      expect(result).toMatchObject({ verified: false, reason: 'no signature by a trusted key' });
      expect(result.evidence).toHaveLength(2);
      expect(result.evidence.every((e) => e.verifiedBy === undefined)).toBe(true);
    });

    it('does not count a classic signature whose payload was changed after signing', async () => {
      const digest = cosign.image(repository);
      const { signature } = cosign.classicSignature(repository, `sha256:${'2'.repeat(64)}`, ci.privateKey);
      cosign.pushSignatures(repository, digest, [
        { payload: cosign.simpleSigning(repository, digest), signature },
      ]);

      const result = await sut.verify(target(digest), signatures(byKeys(ci.publicPem)), deadlineIn());

      expect(result).toMatchObject({ verified: false, reason: 'no signature by a trusted key' });
    });

    it('is verified by one good signature beside a bad one', async () => {
      const digest = cosign.image(repository);
      cosign.pushSignatures(repository, digest, [
        cosign.classicSignature(repository, digest, stranger.privateKey),
        cosign.classicSignature(repository, digest, ci.privateKey),
      ]);

      const result = await sut.verify(target(digest), signatures(byKeys(ci.publicPem)), deadlineIn());

      expect(result.verified).toBe(true);
      expect(result.evidence.map((e) => e.verifiedBy !== undefined)).toEqual([false, true]);
    });

    it('does not take an attestation bundle for an image signature', async () => {
      const digest = cosign.image(repository);
      cosign.pushBundle(
        repository,
        digest,
        keyBundle(envelopeOf(cosign.statement(repository, digest, SLSA), ci.privateKey)),
      );

      const result = await sut.verify(target(digest), signatures(byKeys(ci.publicPem)), deadlineIn());

      expect(result).toMatchObject({ verified: false, reason: 'no signature' });
    });
  });

  describe('attestations by key', () => {
    it("verifies cosign's classic .att attestation of the predicate type asked for", async () => {
      const digest = cosign.image(repository);
      const envelope = envelopeOf(cosign.statement(repository, digest, SLSA), ci.privateKey);
      cosign.pushAttestations(repository, digest, [{ envelope, predicateType: SLSA }]);

      const result = await sut.verify(target(digest), attestations(byKeys(ci.publicPem)), deadlineIn());

      expect(result).toMatchObject({ verified: true, digest });
      expect(result.evidence).toEqual([
        {
          where: 'att tag',
          verifiedBy: `key ${fingerprintOf(ci.publicPem)} (cosign-0.pub)`,
          predicateType: SLSA,
        },
      ]);
    });

    it('verifies an attestation in a sigstore bundle', async () => {
      const digest = cosign.image(repository);
      cosign.pushBundle(
        repository,
        digest,
        keyBundle(envelopeOf(cosign.statement(repository, digest, SLSA), ci.privateKey)),
      );

      const result = await sut.verify(target(digest), attestations(byKeys(ci.publicPem)), deadlineIn());

      expect(result.verified).toBe(true);
      expect(result.evidence).toEqual([
        expect.objectContaining({ where: 'sigstore bundle', predicateType: SLSA }),
      ]);
    });

    it("says 'no attestation of type <T>' when none was written", async () => {
      const digest = cosign.image(repository);
      cosign.pushSignatures(repository, digest, [cosign.classicSignature(repository, digest, ci.privateKey)]);

      const result = await sut.verify(target(digest), attestations(byKeys(ci.publicPem)), deadlineIn());

      expect(result).toMatchObject({ verified: false, reason: `no attestation of type ${SLSA}` });
    });

    it("says 'no attestation of type <T>' when only a signature bundle is there", async () => {
      const digest = cosign.image(repository);
      cosign.pushBundle(
        repository,
        digest,
        keyBundle(envelopeOf(cosign.imageSignatureStatement(repository, digest), ci.privateKey)),
      );

      const result = await sut.verify(target(digest), attestations(byKeys(ci.publicPem)), deadlineIn());

      expect(result).toMatchObject({ verified: false, reason: `no attestation of type ${SLSA}` });
    });

    it("says 'no attestation of type <T>' for an attestation of another predicate type", async () => {
      const digest = cosign.image(repository);
      const scan = 'https://cosign.sigstore.dev/attestation/vuln/v1';
      const envelope = envelopeOf(cosign.statement(repository, digest, scan), ci.privateKey);
      cosign.pushAttestations(repository, digest, [{ envelope, predicateType: scan }]);

      const result = await sut.verify(target(digest), attestations(byKeys(ci.publicPem)), deadlineIn());

      expect(result).toMatchObject({ verified: false, reason: `no attestation of type ${SLSA}` });
    });

    it('does not count an attestation whose statement names another digest', async () => {
      const digest = cosign.image(repository);
      const other = cosign.image(repository);
      const envelope = envelopeOf(cosign.statement(repository, other, SLSA), ci.privateKey);
      cosign.pushAttestations(repository, digest, [{ envelope, predicateType: SLSA }]);

      const result = await sut.verify(target(digest), attestations(byKeys(ci.publicPem)), deadlineIn());

      expect(result).toMatchObject({ verified: false, reason: 'attestation for another digest' });
    });

    it('does not count an attestation by an untrusted key', async () => {
      const digest = cosign.image(repository);
      const envelope = envelopeOf(cosign.statement(repository, digest, SLSA), stranger.privateKey);
      cosign.pushAttestations(repository, digest, [{ envelope, predicateType: SLSA }]);

      const result = await sut.verify(target(digest), attestations(byKeys(ci.publicPem)), deadlineIn());

      expect(result).toMatchObject({
        verified: false,
        reason: `no attestation of type ${SLSA} by a trusted key`,
      });
    });

    it('never counts a forged attestation envelope found through referrers', async () => {
      const digest = cosign.image(repository);
      const envelope = envelopeOf(cosign.statement(repository, digest, SLSA), ci.privateKey);
      const forged = { ...envelope, signatures: [{ sig: b64(randomBytes(72)) }] };
      cosign.pushBundle(repository, digest, keyBundle(forged), 'referrers');

      const result = await sut.verify(target(digest), attestations(byKeys(ci.publicPem)), deadlineIn());

      expect(result).toMatchObject({
        verified: false,
        reason: `no attestation of type ${SLSA} by a trusted key`,
      });
    });

    it('does not count a signature over the bare payload rather than its DSSE encoding', async () => {
      const digest = cosign.image(repository);
      const payload = Buffer.from(JSON.stringify(cosign.statement(repository, digest, SLSA)));
      const envelope = {
        payloadType: IN_TOTO,
        payload: b64(payload),
        signatures: [{ sig: b64(sign('sha256', payload, ci.privateKey)) }],
      };
      cosign.pushAttestations(repository, digest, [{ envelope, predicateType: SLSA }]);

      const result = await sut.verify(target(digest), attestations(byKeys(ci.publicPem)), deadlineIn());

      expect(result.verified).toBe(false);
    });
  });

  describe('signatures by certificate identity', () => {
    let ca: Authority;
    let otherCa: Authority;
    const identities: TrustedIdentity[] = [{ issuer: GITHUB_ISSUER, subject: WORKFLOW }];
    const trustIn = (ids: TrustedIdentity[], authorities = [ca.node]): SignatureTrust =>
      byIdentity({ authorities, identities: ids, requireTransparencyLog: false, logs: [] });

    beforeAll(async () => {
      ca = await authority('test fulcio');
      otherCa = await authority('someone else');
    });

    const pushKeyless = (digest: string, certificate: SigningCertificate, chain = ca.pem): void => {
      const layer = cosign.classicSignature(repository, digest, certificate.privateKey);
      cosign.pushSignatures(repository, digest, [{ ...layer, certificate: certificate.pem, chain }]);
    };

    it('verifies a signature whose certificate carries the exact trusted identity', async () => {
      const digest = cosign.image(repository);
      pushKeyless(digest, await signingCertificate(ca));

      const result = await sut.verify(target(digest), signatures(trustIn(identities)), deadlineIn());

      expect(result.verified).toBe(true);
      expect(result.evidence).toEqual([
        { where: 'sig tag', verifiedBy: `identity ${WORKFLOW} (issuer ${GITHUB_ISSUER})` },
      ]);
    });

    it('verifies a signature whose identity matches trusted regular expressions', async () => {
      const digest = cosign.image(repository);
      pushKeyless(digest, await signingCertificate(ca));
      const trust = trustIn([
        {
          issuerRegExp: /^https:\/\/token\.actions\.githubusercontent\.com$/,
          subjectRegExp: /^https:\/\/github\.com\/acme\/[^/]+\/\.github\/workflows\/.+@refs\/heads\/main$/,
        },
      ]);

      const result = await sut.verify(target(digest), signatures(trust), deadlineIn());

      expect(result.verified).toBe(true);
    });

    it('verifies an attestation whose certificate carries the trusted identity', async () => {
      const digest = cosign.image(repository);
      const certificate = await signingCertificate(ca);
      const envelope = envelopeOf(cosign.statement(repository, digest, SLSA), certificate.privateKey);
      cosign.pushAttestations(repository, digest, [
        { envelope, predicateType: SLSA, certificate: certificate.pem, chain: ca.pem },
      ]);

      const result = await sut.verify(target(digest), attestations(trustIn(identities)), deadlineIn());

      expect(result.verified).toBe(true);
    });

    it('verifies a certificate issued by an intermediate the signature carries in its chain', async () => {
      const intermediate = await authority('test fulcio intermediate', ca);
      const digest = cosign.image(repository);
      pushKeyless(digest, await signingCertificate(intermediate), `${intermediate.pem}\n${ca.pem}`);

      const result = await sut.verify(target(digest), signatures(trustIn(identities)), deadlineIn());

      expect(result.verified).toBe(true);
    });

    it.each<[string, TrustedIdentity]>([
      ['the issuer differs', { issuer: 'https://accounts.google.com', subject: WORKFLOW }],
      [
        'the subject differs',
        {
          issuer: GITHUB_ISSUER,
          subject: 'https://github.com/acme/other/.github/workflows/ci.yml@refs/heads/main',
        },
      ],
      ['the subject pattern does not match', { issuer: GITHUB_ISSUER, subjectRegExp: /@refs\/tags\// }],
    ])("says 'no signature by a trusted identity' when %s", async (_case, identity) => {
      const digest = cosign.image(repository);
      pushKeyless(digest, await signingCertificate(ca));

      const result = await sut.verify(target(digest), signatures(trustIn([identity])), deadlineIn());

      expect(result).toMatchObject({ verified: false, reason: 'no signature by a trusted identity' });
      expect(result.detail).toContain('is not a trusted one');
    });

    it('does not count a certificate that chains to another CA', async () => {
      const digest = cosign.image(repository);
      pushKeyless(digest, await signingCertificate(otherCa), otherCa.pem);

      const result = await sut.verify(target(digest), signatures(trustIn(identities)), deadlineIn());

      expect(result).toMatchObject({ verified: false, reason: 'no signature by a trusted identity' });
      expect(result.detail).toContain('does not chain to a trusted authority');
    });

    it('does not count a certificate whose intermediate is not in the trusted chain', async () => {
      const intermediate = await authority('test fulcio intermediate', otherCa);
      const digest = cosign.image(repository);
      pushKeyless(digest, await signingCertificate(intermediate), `${intermediate.pem}\n${ca.pem}`);

      const result = await sut.verify(target(digest), signatures(trustIn(identities)), deadlineIn());

      expect(result.verified).toBe(false);
      expect(result.detail).toContain('does not chain to a trusted authority');
    });

    it('does not count an expired signing certificate', async () => {
      const digest = cosign.image(repository);
      const now = Date.now();
      pushKeyless(
        digest,
        await signingCertificate(ca, { notBefore: new Date(now - 2 * HOUR), notAfter: new Date(now - HOUR) }),
      );

      const result = await sut.verify(target(digest), signatures(trustIn(identities)), deadlineIn());

      expect(result).toMatchObject({ verified: false, reason: 'no signature by a trusted identity' });
      expect(result.detail).toContain('is not valid at');
    });

    it('does not count a certificate whose extended key usage lacks code signing', async () => {
      const digest = cosign.image(repository);
      pushKeyless(digest, await signingCertificate(ca, { usages: [x509.ExtendedKeyUsage.serverAuth] }));

      const result = await sut.verify(target(digest), signatures(trustIn(identities)), deadlineIn());

      expect(result).toMatchObject({ verified: false, reason: 'no signature by a trusted identity' });
      expect(result.detail).toContain('not for code signing');
    });

    it("does not count a signature made with a key other than the certificate's", async () => {
      const digest = cosign.image(repository);
      const certificate = await signingCertificate(ca);
      const layer = cosign.classicSignature(repository, digest, ci.privateKey);
      cosign.pushSignatures(repository, digest, [{ ...layer, certificate: certificate.pem, chain: ca.pem }]);

      const result = await sut.verify(target(digest), signatures(trustIn(identities)), deadlineIn());

      expect(result).toMatchObject({ verified: false, reason: 'no signature by a trusted identity' });
      expect(result.detail).toContain("does not verify with the certificate's key");
    });

    it('does not count a keyed signature when identities are asked for', async () => {
      const digest = cosign.image(repository);
      cosign.pushSignatures(repository, digest, [cosign.classicSignature(repository, digest, ci.privateKey)]);

      const result = await sut.verify(target(digest), signatures(trustIn(identities)), deadlineIn());

      expect(result).toMatchObject({ verified: false, reason: 'no signature by a trusted identity' });
      expect(result.detail).toContain('no signing certificate');
    });
  });

  describe('with requireTransparencyLog', () => {
    let ca: Authority;
    let log: TransparencyLog;
    let otherLog: TransparencyLog;
    let trust: SignatureTrust;
    let certificate: SigningCertificate;

    beforeAll(async () => {
      ca = await authority('test fulcio');
      log = transparencyLog('rekor.example - 1');
      otherLog = transparencyLog('rekor.example - 2');
      certificate = await signingCertificate(ca);
      const root = readTrustedRoot(trustedRootDocument(ca, [log]), 'trusted-root.json');
      trust = byIdentity({
        authorities: root.authorities,
        logs: root.logs,
        identities: [{ issuer: GITHUB_ISSUER, subject: WORKFLOW }],
        requireTransparencyLog: true,
      });
    });

    /** Pushes a keyless bundle for `digest` whose log entry `entryFor` makes from the signed envelope. */
    function pushLogged(digest: string, entryFor: (envelope: DsseEnvelope) => TlogEntry[]): void {
      const envelope = envelopeOf(cosign.imageSignatureStatement(repository, digest), certificate.privateKey);
      cosign.pushBundle(repository, digest, certificateBundle(envelope, certificate, entryFor(envelope)));
    }

    const proven = (envelope: DsseEnvelope): TlogEntry[] => [
      logEntry(log, dsseEntryBody(envelope, certificate.pem)),
    ];

    it('verifies a bundle whose log entry is proven included in a checkpoint the trusted log signed', async () => {
      const digest = cosign.image(repository);
      pushLogged(digest, proven);

      const result = await sut.verify(target(digest), signatures(trust), deadlineIn());

      expect(result.verified).toBe(true);
      expect(result.evidence).toEqual([
        {
          where: 'sigstore bundle',
          verifiedBy: `identity ${WORKFLOW} (issuer ${GITHUB_ISSUER})`,
          predicateType: COSIGN_SIGN,
        },
      ]);
    });

    const withProof = (
      envelope: DsseEnvelope,
      change: (proof: NonNullable<TlogEntry['inclusionProof']>) => object,
    ): TlogEntry[] => {
      const [entry] = proven(envelope);
      return [{ ...entry, inclusionProof: { ...entry.inclusionProof, ...change(entry.inclusionProof!) } }];
    };

    it.each<[string, (envelope: DsseEnvelope) => TlogEntry[], string]>([
      [
        'proof states a wrong root hash',
        (envelope) => withProof(envelope, () => ({ rootHash: b64(randomBytes(32)) })),
        'the inclusion proof does not lead to its root',
      ],
      [
        'proof has a hash with a bit flipped',
        (envelope) =>
          withProof(envelope, ({ hashes }) => {
            const flipped = Buffer.from(hashes![1], 'base64');
            flipped[0] ^= 1;
            return { hashes: [hashes![0], b64(flipped), ...hashes!.slice(2)] };
          }),
        'the inclusion proof does not lead to its root',
      ],
      [
        'checkpoint is signed by another key',
        (envelope) => [logEntry(log, dsseEntryBody(envelope, certificate.pem), otherLog)],
        'the checkpoint is not signed by the log',
      ],
      [
        'log is not in the trusted root',
        (envelope) => [logEntry(otherLog, dsseEntryBody(envelope, certificate.pem))],
        'from a log the trusted root does not name',
      ],
      [
        'log body records another envelope',
        () => {
          const other = envelopeOf(
            { _type: 'https://in-toto.io/Statement/v1', predicateType: COSIGN_SIGN },
            certificate.privateKey,
          );
          return [logEntry(log, dsseEntryBody(other, certificate.pem))];
        },
        'the transparency-log entry records another envelope',
      ],
    ])('does not count a bundle whose %s', async (_case, entryFor, problem) => {
      const digest = cosign.image(repository);
      pushLogged(digest, entryFor);

      const result = await sut.verify(target(digest), signatures(trust), deadlineIn());

      expect(result.verified).toBe(false);
      expect(result.evidence.every((e) => e.verifiedBy === undefined)).toBe(true);
      expect(result.detail).toContain(problem);
    });

    it('does not count a trusted signature put beside the one the log recorded', async () => {
      const digest = cosign.image(repository);
      const statement = cosign.imageSignatureStatement(repository, digest);
      const someone = await signingCertificate(ca, {
        subject: 'https://github.com/mallory/x/.github/workflows/ci.yml@refs/heads/main',
      });
      const logged = envelopeOf(statement, someone.privateKey);
      const trusted = envelopeOf(statement, certificate.privateKey);
      const envelope = { ...trusted, signatures: [...trusted.signatures, ...logged.signatures] };
      const entry = logEntry(log, dsseEntryBody(logged, someone.pem));
      cosign.pushBundle(repository, digest, certificateBundle(envelope, certificate, [entry]));

      const result = await sut.verify(target(digest), signatures(trust), deadlineIn());

      expect(result.verified).toBe(false);
      expect(result.detail).toContain('the transparency-log entry records another envelope');
    });

    it('verifies an attestation bundle whose log entry is proven included', async () => {
      const digest = cosign.image(repository);
      const envelope = envelopeOf(cosign.statement(repository, digest, SLSA), certificate.privateKey);
      cosign.pushBundle(repository, digest, certificateBundle(envelope, certificate, proven(envelope)));

      const result = await sut.verify(target(digest), attestations(trust), deadlineIn());

      expect(result.verified).toBe(true);
    });

    it('does not count a classic .att attestation, which carries no inclusion proof', async () => {
      const digest = cosign.image(repository);
      const envelope = envelopeOf(cosign.statement(repository, digest, SLSA), certificate.privateKey);
      cosign.pushAttestations(repository, digest, [
        { envelope, predicateType: SLSA, certificate: certificate.pem, chain: ca.pem },
      ]);

      const result = await sut.verify(target(digest), attestations(trust), deadlineIn());

      expect(result.verified).toBe(false);
      expect(result.detail).toContain('no transparency-log inclusion proof');
    });

    it("says 'no transparency-log inclusion proof' for a bundle with no log entry", async () => {
      const digest = cosign.image(repository);
      pushLogged(digest, () => []);

      const result = await sut.verify(target(digest), signatures(trust), deadlineIn());

      expect(result).toMatchObject({ verified: false, reason: 'no transparency-log inclusion proof' });
    });

    it("does not count cosign's classic layout, which carries no inclusion proof", async () => {
      const digest = cosign.image(repository);
      const layer = cosign.classicSignature(repository, digest, certificate.privateKey);
      cosign.pushSignatures(repository, digest, [{ ...layer, certificate: certificate.pem, chain: ca.pem }]);

      const result = await sut.verify(target(digest), signatures(trust), deadlineIn());

      expect(result).toMatchObject({ verified: false, reason: 'no transparency-log inclusion proof' });
    });

    it('verifies the same classic signature once the log is not required', async () => {
      const digest = cosign.image(repository);
      const layer = cosign.classicSignature(repository, digest, certificate.privateKey);
      cosign.pushSignatures(repository, digest, [{ ...layer, certificate: certificate.pem, chain: ca.pem }]);
      const relaxed = byIdentity({ ...trust.certificates!, requireTransparencyLog: false });

      const result = await sut.verify(target(digest), signatures(relaxed), deadlineIn());

      expect(result.verified).toBe(true);
    });
  });

  describe('caching', () => {
    const signedImage = (): string => {
      const digest = cosign.image(repository);
      cosign.pushSignatures(repository, digest, [cosign.classicSignature(repository, digest, ci.privateKey)]);
      return digest;
    };
    const sigRequests = (digest: string): number =>
      registry.manifestRequests(repository, tagFor(digest, '.sig'));

    /** How far `Date.now` runs ahead of the real clock, so expiry is tested without waiting. */
    let skewMs = 0;

    beforeEach(() => {
      skewMs = 0;
      const now = Date.now.bind(Date);
      jest.spyOn(Date, 'now').mockImplementation(() => now() + skewMs);
      // Built after the spy, so that its cache reads the skewed clock.
      sut = new ImageVerifier(client);
    });

    it('answers a second verification from the cache, without asking the registry', async () => {
      const digest = signedImage();
      const request = signatures(byKeys(ci.publicPem));
      const first = await sut.verify(target(digest), request, deadlineIn());

      const second = await sut.verify(target(digest), request, deadlineIn());

      expect(first.cache).toBe('miss');
      expect(second).toMatchObject({ verified: true, cache: 'hit', evidence: first.evidence });
      expect(sigRequests(digest)).toBe(1);
    });

    it('does not reuse a verdict under another policy revision', async () => {
      const digest = signedImage();
      const request = signatures(byKeys(ci.publicPem));
      await sut.verify(target(digest), request, deadlineIn());

      const result = await sut.verify(target(digest, { policyRevision: 'r2' }), request, deadlineIn());

      expect(result.cache).toBe('miss');
      expect(sigRequests(digest)).toBe(2);
    });

    it('does not reuse a verdict reached with other trust material', async () => {
      const digest = signedImage();
      await sut.verify(target(digest), signatures(byKeys(stranger.publicPem)), deadlineIn());

      const result = await sut.verify(
        target(digest),
        signatures(byKeys(stranger.publicPem, ci.publicPem)),
        deadlineIn(),
      );

      expect(result).toMatchObject({ verified: true, cache: 'miss' });
    });

    it('does not reuse a signature verdict for an attestation request', async () => {
      const digest = signedImage();
      await sut.verify(target(digest), signatures(byKeys(ci.publicPem)), deadlineIn());

      const result = await sut.verify(target(digest), attestations(byKeys(ci.publicPem)), deadlineIn());

      expect(result).toMatchObject({ verified: false, cache: 'miss' });
    });

    it('keeps a definite failure for failureTtlMs only, so a freshly signed image soon passes', async () => {
      const digest = cosign.image(repository);
      const request = signatures(byKeys(ci.publicPem));
      const failureTtlMs = 10_000;
      await sut.verify(target(digest, { failureTtlMs }), request, deadlineIn());
      cosign.pushSignatures(repository, digest, [cosign.classicSignature(repository, digest, ci.privateKey)]);

      const soon = await sut.verify(target(digest, { failureTtlMs }), request, deadlineIn());
      skewMs = failureTtlMs + 1;
      const later = await sut.verify(target(digest, { failureTtlMs }), request, deadlineIn());

      expect(soon).toMatchObject({ verified: false, reason: 'no signature', cache: 'hit' });
      expect(later).toMatchObject({ verified: true, cache: 'miss' });
    });

    it('keeps a success for successTtlMs, past the failure TTL', async () => {
      const digest = signedImage();
      const request = signatures(byKeys(ci.publicPem));
      const ttls = { successTtlMs: 600_000, failureTtlMs: 10_000 };
      await sut.verify(target(digest, ttls), request, deadlineIn());

      skewMs = ttls.failureTtlMs + 1;
      const within = await sut.verify(target(digest, ttls), request, deadlineIn());
      skewMs = ttls.successTtlMs + 1;
      const past = await sut.verify(target(digest, ttls), request, deadlineIn());

      expect(within.cache).toBe('hit');
      expect(past.cache).toBe('miss');
    });

    it("reports a registry answering HTTP 500 as 'registry unreachable', and does not cache it", async () => {
      const digest = signedImage();
      const request = signatures(byKeys(ci.publicPem));
      registry.behaviour = 'fail';

      const failed = await sut.verify(target(digest), request, deadlineIn());
      registry.behaviour = 'serve';
      const recovered = await sut.verify(target(digest), request, deadlineIn());

      expect(failed).toMatchObject({
        verified: false,
        reason: 'registry unreachable',
        registryFailure: 'unreachable',
        evidence: [],
      });
      expect(recovered).toMatchObject({ verified: true, cache: 'miss' });
    });

    it("reports a registry that never answers as 'registry timed out' at the deadline", async () => {
      const digest = signedImage();
      registry.behaviour = 'hang';

      const result = await sut.verify(target(digest), signatures(byKeys(ci.publicPem)), deadlineIn(300));

      expect(result).toMatchObject({
        verified: false,
        reason: 'registry timed out',
        registryFailure: 'timed out',
      });
    });

    it('shares one registry read among concurrent verifications of one key', async () => {
      const digest = signedImage();
      const request = signatures(byKeys(ci.publicPem));

      const results = await Promise.all(
        Array.from({ length: 10 }, () => sut.verify(target(digest), request, deadlineIn())),
      );

      expect(results.every((r) => r.verified)).toBe(true);
      expect(sigRequests(digest)).toBe(1);
    });
  });
});
