import { inTurns } from '../cache';
import {
  FetchedManifest,
  RegistryAccess,
  RegistryClient,
  RegistryDeadline,
  RegistryFailure,
  RegistryFailureReason,
} from '../registry';
import { Artifact, Discard, EvidenceSource, ReadEvidence, discard } from './evidence';
import {
  Descriptor,
  Parsed,
  bundleOf,
  classicAttestationOf,
  classicSignatureOf,
  descriptorOf,
  descriptorsOf,
  isObject,
} from './evidence-parser';
import {
  COSE_ENVELOPE_TYPE,
  JWS_ENVELOPE_TYPE,
  NOTARY_SIGNATURE_TYPE,
  notationEnvelopeOf,
} from './notation-envelope';
import {
  ARTIFACT_FETCH_CONCURRENCY,
  MAX_ARTIFACTS_PER_IMAGE,
  MAX_NOTATION_ENVELOPE_BYTES,
} from './verification-budgets';

export type { TlogEntry } from './evidence';

// Where cosign keeps what it says about an image, and in which shapes.
// https://github.com/sigstore/cosign/blob/main/specs/SIGNATURE_SPEC.md
export const SIMPLE_SIGNING_TYPE = 'application/vnd.dev.cosign.simplesigning.v1+json';
export const DSSE_ENVELOPE_TYPE = 'application/vnd.dsse.envelope.v1+json';
const BUNDLE_TYPE_PREFIX = 'application/vnd.dev.sigstore.bundle';

const MAX_SIGNATURE_BYTES = 1024 * 1024;
/** Attestations carry SBOMs and scan reports, which run to megabytes. */
const MAX_ATTESTATION_BYTES = 8 * 1024 * 1024;

/** A DSSE envelope as cosign and sigstore bundles write it (what the test fixtures sign). */
export interface DsseEnvelope {
  readonly payload: string;
  readonly payloadType: string;
  readonly signatures: readonly { readonly sig: string; readonly keyid?: string }[];
}

/**
 * The registry failures that fail a whole verification: the registry as a whole cannot be read now,
 * or may not be contacted at all (an unlisted registry on a private address).
 * Any other failure (a blob missing, an answer that is not what it claims, a download refused for
 * a budget) is about one artifact, which is discarded while the others are still judged.
 */
const WHOLE_FAILURES: ReadonlySet<RegistryFailureReason> = new Set([
  'unauthorized',
  'timed out',
  'rate limited',
  'unreachable',
  'private registry not in spec.registries',
]);

/** Registry answers about one artifact that will not change: it is not there, or it is not what it claims. */
const LASTING_FAILURES: ReadonlySet<RegistryFailureReason> = new Set(['not found', 'invalid response']);

/** What reading one artifact gave, and whether it went unread for a reason that may pass. */
type Read<T> = Parsed<T> & { readonly transient?: boolean };

/** `read()`, or a Discard when the registry would not serve this one artifact. */
async function orUnreadable<T>(source: EvidenceSource, read: () => Promise<Parsed<T>>): Promise<Read<T>> {
  try {
    return await read();
  } catch (error) {
    if (error instanceof RegistryFailure && !WHOLE_FAILURES.has(error.reason))
      return {
        discarded: [discard(source, 'unreadable artifact', 'registry failure', { subject: error.message })],
        transient: !LASTING_FAILURES.has(error.reason),
      };
    throw error;
  }
}

const tagFor = (digest: string, suffix: '.sig' | '.att'): string => `${digest.replace(':', '-')}${suffix}`;

/**
 * Reads what cosign wrote about `digest` in the image's own repository into the validated evidence
 * shape: the classic `.sig` or `.att` tag, and sigstore bundles found through referrers (or their
 * fallback tag). A signature for this digest in another repository is not looked for: a copy of
 * the image elsewhere must be signed there. At most MAX_ARTIFACTS_PER_IMAGE artifacts are read,
 * the classic tag's layers first; whatever does not fit the shape is discarded, never thrown.
 */
export class CosignEvidenceReader {
  constructor(private readonly client: RegistryClient) {}

  async read(
    kind: 'signatures' | 'attestations',
    access: RegistryAccess,
    repository: string,
    digest: string,
    deadline: RegistryDeadline,
    wanted: EvidenceWanted = { cosign: true, notation: false },
  ): Promise<ReadEvidence> {
    const classic = kind === 'signatures' ? ('sig tag' as const) : ('att tag' as const);
    const inTurn = inTurns(ARTIFACT_FETCH_CONCURRENCY);
    const overBudget = (source: EvidenceSource, count: number): Discard[] =>
      count > 0 ? [discard(source, 'artifacts over budget', 'over budget', { count })] : [];
    // Each artifact is fetched as soon as its listing is in: the classic tag's layers at once, the
    // referrers once the layers have taken their share of the budget (their listing takes longer).
    const nothing = (): Promise<Parsed<Descriptor[]>> => Promise.resolve({ value: [], discarded: [] });
    const layers = orUnreadable(classic, () =>
      wanted.cosign ? this.classicLayers(classic, access, repository, digest, deadline) : nothing(),
    );
    const referrers = orUnreadable('sigstore bundle', async () => {
      const listed = await this.referrers(access, repository, digest, deadline);
      // An index entry that says it is of a kind the rule does not trust is not fetched.
      return {
        ...listed,
        value: (listed.value ?? []).filter((descriptor) => wantedType(descriptor, wanted)),
      };
    });
    const classicRead = layers.then(async (listed) => {
      const kept = (listed.value ?? []).slice(0, MAX_ARTIFACTS_PER_IMAGE);
      const read = await Promise.all(
        kept.map((layer) =>
          inTurn(() =>
            orUnreadable(classic, () => this.classicArtifact(classic, layer, access, repository, deadline)),
          ),
        ),
      );
      return { listed, over: overBudget(classic, (listed.value?.length ?? 0) - kept.length), read };
    });
    const bundleRead = Promise.all([layers, referrers]).then(async ([classicListed, listed]) => {
      const room =
        MAX_ARTIFACTS_PER_IMAGE - Math.min(classicListed.value?.length ?? 0, MAX_ARTIFACTS_PER_IMAGE);
      const kept = (listed.value ?? []).slice(0, room);
      const read = await Promise.all(
        kept.map((descriptor) =>
          inTurn(() =>
            orUnreadable(referrerSource(descriptor), () =>
              this.referrer(descriptor, access, repository, deadline, wanted),
            ),
          ),
        ),
      );
      return { listed, over: overBudget('sigstore bundle', (listed.value?.length ?? 0) - kept.length), read };
    });
    const parts = await Promise.all([classicRead, bundleRead]);
    const artifacts: Artifact[] = [];
    const discarded: Discard[] = parts.flatMap(({ listed, over }) => [...listed.discarded, ...over]);
    let transient = false;
    for (const { listed, read } of parts) {
      transient ||= listed.transient === true;
      for (const parsed of read) {
        if (parsed.value) artifacts.push(parsed.value);
        discarded.push(...parsed.discarded);
        transient ||= parsed.transient === true;
      }
    }
    return { artifacts, discarded, transient };
  }

  /**
   * cosign's classic layout: a tag beside the image (`sha256-<hex>.sig` or `.att`) whose layers of
   * one media type each hold a signed blob, with the signing certificate and chain, when keyless,
   * in the layer's annotations.
   */
  private async classicLayers(
    source: 'sig tag' | 'att tag',
    access: RegistryAccess,
    repository: string,
    digest: string,
    deadline: RegistryDeadline,
  ): Promise<Parsed<Descriptor[]>> {
    const tag = tagFor(digest, source === 'sig tag' ? '.sig' : '.att');
    const manifest = await this.client.getTaggedManifest({ access, repository, tag, deadline });
    if (!manifest) return { value: [], discarded: [] };
    const layers = descriptorsOf(
      (manifest.json as Record<string, unknown>).layers,
      source,
      'layers not a list',
    );
    const mediaType = source === 'sig tag' ? SIMPLE_SIGNING_TYPE : DSSE_ENVELOPE_TYPE;
    return {
      value: layers.value!.filter((layer) => layer.mediaType === mediaType),
      discarded: layers.discarded,
    };
  }

  private async classicArtifact(
    source: 'sig tag' | 'att tag',
    layer: Descriptor,
    access: RegistryAccess,
    repository: string,
    deadline: RegistryDeadline,
  ): Promise<Parsed<Artifact>> {
    const maxBytes = source === 'sig tag' ? MAX_SIGNATURE_BYTES : MAX_ATTESTATION_BYTES;
    const blob = await this.client.getBlob({ access, repository, digest: layer.digest, maxBytes, deadline });
    return source === 'sig tag' ? classicSignatureOf(layer, blob) : classicAttestationOf(layer, blob);
  }

  /** The referrers of `digest`, each descriptor checked before it names anything to fetch. */
  private async referrers(
    access: RegistryAccess,
    repository: string,
    digest: string,
    deadline: RegistryDeadline,
  ): Promise<Parsed<Descriptor[]>> {
    const listed: unknown = await this.client.listReferrers({ access, repository, digest, deadline });
    return descriptorsOf(listed, 'sigstore bundle', 'referrers not a list');
  }

  /**
   * A referrer: a sigstore bundle, or a Notary Project signature (a JWS or COSE envelope in the
   * manifest's first layer), or something else, which is passed over.
   */
  private async referrer(
    descriptor: Descriptor,
    access: RegistryAccess,
    repository: string,
    deadline: RegistryDeadline,
    wanted: EvidenceWanted,
  ): Promise<Parsed<Artifact>> {
    let source: EvidenceSource = 'sigstore bundle';
    const manifest = await this.client.getManifest({
      access,
      repository,
      digest: descriptor.digest,
      deadline,
    });
    const json = manifest.json as Record<string, unknown>;
    const layers = json.layers;
    if (wanted.notation && isNotationManifest(manifest)) source = 'notation signature';
    if (layers !== undefined && layers !== null && !Array.isArray(layers))
      return {
        discarded: [
          discard(source, 'malformed manifest', 'layers not a list', { subject: descriptor.digest }),
        ],
      };
    const first: unknown = Array.isArray(layers) ? (layers as unknown[])[0] : undefined;
    if (source === 'notation signature')
      return this.notationSignature(descriptor, first, access, repository, deadline);
    // The index entry's artifactType may be the empty type; the manifest itself says what it is.
    if (!wanted.cosign || !isBundleManifest(manifest, first)) return { discarded: [] };
    const layer = descriptorOf(first);
    if (typeof layer === 'string')
      return { discarded: [discard(source, 'malformed descriptor', layer, { subject: descriptor.digest })] };
    const bytes = await this.client.getBlob({
      access,
      repository,
      digest: layer.digest,
      maxBytes: MAX_ATTESTATION_BYTES,
      deadline,
    });
    return bundleOf(descriptor.digest, bytes);
  }

  /** A Notary Project signature manifest's envelope, by its layer's media type. */
  private async notationSignature(
    descriptor: Descriptor,
    first: unknown,
    access: RegistryAccess,
    repository: string,
    deadline: RegistryDeadline,
  ): Promise<Parsed<Artifact>> {
    const source = 'notation signature';
    const layer = descriptorOf(first);
    if (typeof layer === 'string')
      return { discarded: [discard(source, 'malformed descriptor', layer, { subject: descriptor.digest })] };
    if (layer.mediaType !== JWS_ENVELOPE_TYPE && layer.mediaType !== COSE_ENVELOPE_TYPE)
      return { discarded: [] };
    const bytes = await this.client.getBlob({
      access,
      repository,
      digest: layer.digest,
      maxBytes: MAX_NOTATION_ENVELOPE_BYTES,
      deadline,
    });
    return notationEnvelopeOf(descriptor.digest, layer.mediaType, bytes);
  }
}

/** Which kinds of signature the rule trusts, so that no other is fetched. */
export interface EvidenceWanted {
  /** cosign's: the classic tags and sigstore bundles. */
  readonly cosign: boolean;
  /** The Notary Project's. */
  readonly notation: boolean;
}

/**
 * Whether a referrer might be of a wanted kind, by its index entry's artifactType (the registry's
 * word, so only ever a reason to skip what is not wanted): cosign's fallback tag lists its bundles
 * with the empty type, notation lists its signatures with theirs.
 */
function wantedType(descriptor: Descriptor, wanted: EvidenceWanted): boolean {
  if (descriptor.artifactType === NOTARY_SIGNATURE_TYPE) return wanted.notation;
  if (descriptor.artifactType?.startsWith(BUNDLE_TYPE_PREFIX)) return wanted.cosign;
  return true;
}

const referrerSource = (descriptor: Descriptor): EvidenceSource =>
  descriptor.artifactType === NOTARY_SIGNATURE_TYPE ? 'notation signature' : 'sigstore bundle';

/** notation writes its type as the manifest's artifactType, or (as v1 does) its config's media type. */
function isNotationManifest(manifest: FetchedManifest): boolean {
  const json = manifest.json as Record<string, unknown>;
  const config = isObject(json.config) ? json.config : undefined;
  return json.artifactType === NOTARY_SIGNATURE_TYPE || config?.mediaType === NOTARY_SIGNATURE_TYPE;
}

function isBundleManifest(manifest: FetchedManifest, firstLayer: unknown): boolean {
  const json = manifest.json as Record<string, unknown>;
  const config = isObject(json.config) ? json.config : undefined;
  const layerType = isObject(firstLayer) ? firstLayer.mediaType : undefined;
  return [json.artifactType, config?.artifactType, layerType].some(
    (type) => typeof type === 'string' && type.startsWith(BUNDLE_TYPE_PREFIX),
  );
}
