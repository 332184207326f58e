import { X509Certificate } from 'node:crypto';
import {
  FetchedManifest,
  ManifestDescriptor,
  RegistryAccess,
  RegistryClient,
  RegistryDeadline,
  RegistryFailure,
} from '../registry';

// Where cosign keeps what it says about an image, and in which shapes.
// https://github.com/sigstore/cosign/blob/main/specs/SIGNATURE_SPEC.md
export const SIMPLE_SIGNING_TYPE = 'application/vnd.dev.cosign.simplesigning.v1+json';
export const DSSE_ENVELOPE_TYPE = 'application/vnd.dsse.envelope.v1+json';
export const IN_TOTO_PAYLOAD_TYPE = 'application/vnd.in-toto+json';
const BUNDLE_TYPE_PREFIX = 'application/vnd.dev.sigstore.bundle';
const SIGNATURE_ANNOTATION = 'dev.cosignproject.cosign/signature';
const CERTIFICATE_ANNOTATION = 'dev.sigstore.cosign/certificate';
const CHAIN_ANNOTATION = 'dev.sigstore.cosign/chain';

/** More artifacts than any pipeline writes; a registry offering more is not read further. */
const MAX_ARTIFACTS = 32;
const MAX_SIGNATURE_BYTES = 1024 * 1024;
/** Attestations carry SBOMs and scan reports, which run to megabytes. */
const MAX_ATTESTATION_BYTES = 8 * 1024 * 1024;

/** A DSSE envelope as cosign and sigstore bundles write it. */
export interface DsseEnvelope {
  readonly payload: string;
  readonly payloadType: string;
  readonly signatures: readonly { readonly sig: string; readonly keyid?: string }[];
}

/** A sigstore bundle, as far as verification reads it. */
export interface SigstoreBundle {
  readonly mediaType?: string;
  readonly verificationMaterial?: {
    readonly publicKey?: { readonly hint?: string };
    readonly certificate?: { readonly rawBytes?: string };
    readonly x509CertificateChain?: { readonly certificates?: readonly { readonly rawBytes?: string }[] };
    readonly tlogEntries?: readonly TlogEntry[];
  };
  readonly dsseEnvelope?: DsseEnvelope;
  readonly messageSignature?: unknown;
}

export interface TlogEntry {
  readonly logIndex?: string;
  readonly logId?: { readonly keyId?: string };
  readonly kindVersion?: { readonly kind?: string; readonly version?: string };
  readonly integratedTime?: string;
  /** Rekor's signed entry timestamp: the log's signature over the body, the time and the index. */
  readonly inclusionPromise?: { readonly signedEntryTimestamp?: string };
  readonly canonicalizedBody?: string;
  readonly inclusionProof?: {
    readonly logIndex?: string;
    readonly rootHash?: string;
    readonly treeSize?: string;
    readonly hashes?: readonly string[];
    readonly checkpoint?: { readonly envelope?: string };
  };
}

/**
 * One thing found in the registry that claims to vouch for an image, before anything about it is
 * believed: every field here is untrusted until a signature over it verifies.
 */
export type Evidence =
  | {
      readonly where: 'sig tag';
      readonly payload: Buffer;
      readonly signature: Buffer;
      readonly certificate?: X509Certificate;
      readonly chain: readonly X509Certificate[];
    }
  | {
      readonly where: 'att tag';
      readonly envelope: DsseEnvelope;
      readonly certificate?: X509Certificate;
      readonly chain: readonly X509Certificate[];
    }
  | { readonly where: 'sigstore bundle'; readonly artifact: string; readonly bundle: SigstoreBundle }
  | { readonly where: 'sig tag' | 'att tag' | 'sigstore bundle'; readonly unreadable: string };

function pemCertificates(pem: string | undefined): X509Certificate[] {
  if (!pem) return [];
  return (pem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? []).flatMap(
    (block) => {
      try {
        return [new X509Certificate(block)];
      } catch {
        return [];
      }
    },
  );
}

/**
 * One artifact that is missing or malformed is evidence that does not count, not a failure of the
 * whole verification: another signature beside it may still verify. A registry that times out or
 * refuses credentials fails the whole verification, which then denies.
 */
async function orUnreadable(
  where: Evidence['where'],
  read: () => Promise<Evidence | Evidence[]>,
): Promise<Evidence[]> {
  try {
    const found = await read();
    return Array.isArray(found) ? found : [found];
  } catch (error) {
    // A body refused for the review's byte budget is that artifact's problem too (SECURITY.md).
    if (
      error instanceof RegistryFailure &&
      (error.reason === 'not found' || error.reason === 'invalid response' || error.reason === 'over budget')
    )
      return [{ where, unreadable: error.message }];
    throw error;
  }
}

const tagFor = (digest: string, suffix: '.sig' | '.att' | ''): string =>
  `${digest.replace(':', '-')}${suffix}`;

/**
 * Reads what cosign wrote about `digest` in the image's own repository: the classic `.sig` and
 * `.att` tags, and sigstore bundles found through referrers (or their fallback tag). A signature
 * for this digest in another repository is not looked for: a copy of the image elsewhere must be
 * signed there.
 */
export class CosignEvidenceReader {
  constructor(private readonly client: RegistryClient) {}

  async signatures(
    access: RegistryAccess,
    repository: string,
    digest: string,
    deadline: RegistryDeadline,
  ): Promise<Evidence[]> {
    const [classic, bundles] = await Promise.all([
      this.classicSignatures(access, repository, digest, deadline),
      this.bundles(access, repository, digest, deadline),
    ]);
    return [...classic, ...bundles];
  }

  async attestations(
    access: RegistryAccess,
    repository: string,
    digest: string,
    deadline: RegistryDeadline,
  ): Promise<Evidence[]> {
    const [classic, bundles] = await Promise.all([
      this.classicAttestations(access, repository, digest, deadline),
      this.bundles(access, repository, digest, deadline),
    ]);
    return [...classic, ...bundles];
  }

  private classicSignatures(
    access: RegistryAccess,
    repository: string,
    digest: string,
    deadline: RegistryDeadline,
  ): Promise<Evidence[]> {
    return this.classicLayers(access, repository, digest, deadline, {
      where: 'sig tag',
      mediaType: SIMPLE_SIGNING_TYPE,
      maxBytes: MAX_SIGNATURE_BYTES,
      read: (layer, payload, signer) => {
        const signature = layer.annotations?.[SIGNATURE_ANNOTATION];
        if (!signature) return { where: 'sig tag', unreadable: 'a layer without a signature annotation' };
        return { where: 'sig tag', payload, signature: Buffer.from(signature, 'base64'), ...signer };
      },
    });
  }

  private classicAttestations(
    access: RegistryAccess,
    repository: string,
    digest: string,
    deadline: RegistryDeadline,
  ): Promise<Evidence[]> {
    return this.classicLayers(access, repository, digest, deadline, {
      where: 'att tag',
      mediaType: DSSE_ENVELOPE_TYPE,
      maxBytes: MAX_ATTESTATION_BYTES,
      read: (_layer, bytes, signer) => {
        const envelope = parseEnvelope(bytes);
        if (typeof envelope === 'string') return { where: 'att tag', unreadable: envelope };
        return { where: 'att tag', envelope, ...signer };
      },
    });
  }

  /**
   * cosign's classic layout: a tag beside the image (`sha256-<hex>.sig` or `.att`) whose layers of
   * one media type each hold a signed blob, with the signing certificate and chain, when keyless,
   * in the layer's annotations.
   */
  private async classicLayers(
    access: RegistryAccess,
    repository: string,
    digest: string,
    deadline: RegistryDeadline,
    layout: {
      readonly where: 'sig tag' | 'att tag';
      readonly mediaType: string;
      readonly maxBytes: number;
      readonly read: (
        layer: ManifestDescriptor,
        blob: Buffer,
        signer: { certificate?: X509Certificate; chain: X509Certificate[] },
      ) => Evidence;
    },
  ): Promise<Evidence[]> {
    const tag = tagFor(digest, layout.where === 'sig tag' ? '.sig' : '.att');
    const manifest = await this.client.getTaggedManifest({ access, repository, tag, deadline });
    const layers = (manifest?.json.layers ?? [])
      .filter((l) => l.mediaType === layout.mediaType)
      .slice(0, MAX_ARTIFACTS);
    const found = await Promise.all(
      layers.map((layer) =>
        orUnreadable(layout.where, async () => {
          const blob = await this.client.getBlob({
            access,
            repository,
            digest: layer.digest,
            maxBytes: layout.maxBytes,
            deadline,
          });
          return layout.read(layer, blob, {
            certificate: pemCertificates(layer.annotations?.[CERTIFICATE_ANNOTATION])[0],
            chain: pemCertificates(layer.annotations?.[CHAIN_ANNOTATION]),
          });
        }),
      ),
    );
    return found.flat();
  }

  private async bundles(
    access: RegistryAccess,
    repository: string,
    digest: string,
    deadline: RegistryDeadline,
  ): Promise<Evidence[]> {
    const referrers = (await this.client.listReferrers({ access, repository, digest, deadline })).slice(
      0,
      MAX_ARTIFACTS,
    );
    const found = await Promise.all(
      referrers.map((descriptor) =>
        orUnreadable('sigstore bundle', async (): Promise<Evidence[]> => {
          const manifest = await this.client.getManifest({
            access,
            repository,
            digest: descriptor.digest,
            deadline,
          });
          // The index entry's artifactType may be the empty type; the manifest itself says what it is.
          if (!isBundleManifest(manifest)) return [];
          const layer = manifest.json.layers?.[0];
          if (!layer) return [{ where: 'sigstore bundle', unreadable: `${descriptor.digest} has no layer` }];
          const bytes = await this.client.getBlob({
            access,
            repository,
            digest: layer.digest,
            maxBytes: MAX_ATTESTATION_BYTES,
            deadline,
          });
          let bundle: SigstoreBundle;
          try {
            bundle = JSON.parse(bytes.toString('utf8')) as SigstoreBundle;
          } catch {
            return [{ where: 'sigstore bundle', unreadable: `${descriptor.digest} is not JSON` }];
          }
          if (typeof bundle !== 'object' || bundle === null)
            return [{ where: 'sigstore bundle', unreadable: `${descriptor.digest} is not a bundle` }];
          return [{ where: 'sigstore bundle', artifact: descriptor.digest, bundle }];
        }),
      ),
    );
    return found.flat();
  }
}

function isBundleManifest(manifest: FetchedManifest): boolean {
  const { json } = manifest;
  const config = json.config as { artifactType?: string; mediaType?: string } | undefined;
  return [json.artifactType, config?.artifactType, json.layers?.[0]?.mediaType].some(
    (type) => typeof type === 'string' && type.startsWith(BUNDLE_TYPE_PREFIX),
  );
}

/** A DSSE envelope from JSON bytes, or why it is not one. */
export function parseEnvelope(bytes: unknown): DsseEnvelope | string {
  let value: unknown = bytes;
  if (Buffer.isBuffer(bytes)) {
    try {
      value = JSON.parse(bytes.toString('utf8'));
    } catch {
      return 'an envelope that is not JSON';
    }
  }
  const envelope = value as Partial<DsseEnvelope> | null;
  if (
    typeof envelope?.payload !== 'string' ||
    typeof envelope.payloadType !== 'string' ||
    !Array.isArray(envelope.signatures)
  )
    return 'an envelope without payload, payloadType and signatures';
  return envelope as DsseEnvelope;
}
