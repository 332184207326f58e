import { X509Certificate } from 'node:crypto';
import {
  Artifact,
  CandidateSignature,
  Discard,
  EnvelopeArtifact,
  EvidenceSource,
  SignerMaterial,
  TimestampBytes,
  TlogEntry,
  discard,
} from './evidence';
import { MAX_SIGNATURE_BYTES, isBase64 } from './signature-shape';
import { MAX_TIMESTAMP_BYTES } from './rfc3161-timestamp';
import {
  MAX_CHAIN_CERTIFICATES,
  MAX_INCLUSION_PROOF_HASHES,
  MAX_SIGNATURES_PER_ENVELOPE,
  MAX_TIMESTAMPS_PER_SIGNATURE,
  MAX_TLOG_ENTRIES_PER_BUNDLE,
} from './verification-budgets';

// Untrusted JSON and annotations into the validated evidence shape. Nothing here throws: what does
// not fit is returned as a Discard beside whatever did.

const SHA256_DIGEST = /^sha256:[a-f0-9]{64}$/;
const PEM_CERTIFICATE = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;
export const SIGNATURE_ANNOTATION = 'dev.cosignproject.cosign/signature';
export const CERTIFICATE_ANNOTATION = 'dev.sigstore.cosign/certificate';
export const CHAIN_ANNOTATION = 'dev.sigstore.cosign/chain';
export const TIMESTAMP_ANNOTATION = 'dev.sigstore.cosign/rfc3161timestamp';

/** What parsing one thing gave: the thing, if it fit, and everything discarded on the way. */
export interface Parsed<T> {
  readonly value?: T;
  readonly discarded: readonly Discard[];
}

type JsonObject = Readonly<Record<string, unknown>>;

export const isObject = (value: unknown): value is JsonObject =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/** A string field, `undefined` when absent, or `false` when present with another type. */
function stringField(object: JsonObject, key: string): string | undefined | false {
  const value = object[key];
  if (value === undefined || value === null) return undefined;
  return typeof value === 'string' ? value : false;
}

/** An int64 as protobuf's JSON form writes it (a string), or as a plain JSON number. */
function int64Field(object: JsonObject, key: string): string | undefined | false {
  const value = object[key];
  if (value === undefined || value === null) return undefined;
  if (typeof value === 'string') return value;
  return typeof value === 'number' && Number.isSafeInteger(value) ? String(value) : false;
}

/** A nested object field: `undefined` when absent, `false` when present and not an object. */
function objectField(object: JsonObject, key: string): JsonObject | undefined | false {
  const value = object[key];
  if (value === undefined || value === null) return undefined;
  return isObject(value) ? value : false;
}

/** JSON from registry bytes, or `undefined`. Duplicate keys: the last wins, as in Go's encoding/json. */
export function parseJson(bytes: Buffer): unknown {
  try {
    return JSON.parse(bytes.toString('utf8')) as unknown;
  } catch {
    return undefined;
  }
}

/** An OCI descriptor as evidence reads it: only sha256 content can be fetched and checked. */
export interface Descriptor {
  readonly digest: string;
  readonly mediaType?: string;
  readonly artifactType?: string;
  readonly annotations: JsonObject;
}

/** A descriptor from a manifest's `layers` or a referrers index, or why it is none. */
export function descriptorOf(
  value: unknown,
): Descriptor | 'not an object' | 'no sha256 digest' | 'field of the wrong type' {
  if (!isObject(value)) return 'not an object';
  const { digest } = value;
  if (typeof digest !== 'string' || !SHA256_DIGEST.test(digest)) return 'no sha256 digest';
  const mediaType = stringField(value, 'mediaType');
  const artifactType = stringField(value, 'artifactType');
  const annotations = objectField(value, 'annotations');
  if (mediaType === false || artifactType === false || annotations === false)
    return 'field of the wrong type';
  return { digest, mediaType, artifactType, annotations: annotations ?? {} };
}

/** Every descriptor of a list that fits, in order, and one Discard per one that does not. */
export function descriptorsOf(
  list: unknown,
  source: EvidenceSource,
  notAList: 'layers not a list' | 'referrers not a list',
): Parsed<Descriptor[]> {
  if (list === undefined || list === null) return { value: [], discarded: [] };
  if (!Array.isArray(list))
    return { value: [], discarded: [discard(source, 'malformed manifest', notAList)] };
  const value: Descriptor[] = [];
  const discarded: Discard[] = [];
  // Bounded by the manifest's own size cap (4 MiB); each entry is a few comparisons.
  for (const entry of list as unknown[]) {
    const descriptor = descriptorOf(entry);
    if (typeof descriptor === 'string') discarded.push(discard(source, 'malformed descriptor', descriptor));
    else value.push(descriptor);
  }
  return { value, discarded };
}

/**
 * The certificates of a PEM annotation, at most `limit`: the leaf annotation's first block, or the
 * chain annotation's blocks, the ones past the budget counted and not parsed.
 */
function pemCertificates(
  source: EvidenceSource,
  pem: string | undefined,
  limit: number,
  excess: 'ignored' | 'counted',
): Parsed<X509Certificate[]> {
  if (!pem) return { value: [], discarded: [] };
  const value: X509Certificate[] = [];
  const discarded: Discard[] = [];
  let blocks = 0;
  for (const match of pem.matchAll(PEM_CERTIFICATE)) {
    if (++blocks > limit) {
      if (excess === 'ignored') break;
      continue;
    }
    try {
      value.push(new X509Certificate(match[0]));
    } catch {
      discarded.push(discard(source, 'malformed certificate', 'certificate unreadable'));
    }
  }
  if (blocks === 0) discarded.push(discard(source, 'malformed certificate', 'certificate unreadable'));
  if (blocks > limit && excess === 'counted')
    discarded.push(discard(source, 'certificates over budget', 'over budget', { count: blocks - limit }));
  return { value, discarded };
}

/** A certificate from protobuf's base64 `rawBytes`, or a Discard. */
function rawCertificate(source: EvidenceSource, value: unknown): X509Certificate | Discard {
  const raw = isObject(value) ? value.rawBytes : undefined;
  if (typeof raw !== 'string' || !isBase64(raw))
    return discard(source, 'malformed certificate', 'certificate unreadable');
  try {
    return new X509Certificate(Buffer.from(raw, 'base64'));
  } catch {
    return discard(source, 'malformed certificate', 'certificate unreadable');
  }
}

/**
 * One signature of a DSSE envelope, structurally: an object whose `sig` is non-empty base64, no
 * longer than any signature. Whether it has the form of a trusted key's signature is checked per
 * key, still before any cryptography (fitsKey). A `keyid` of another type is no hint.
 */
export function signatureOf(value: unknown): CandidateSignature | Discard['cause'] {
  if (!isObject(value)) return 'not an object';
  const { sig, keyid } = value;
  if (typeof sig !== 'string') return 'field of the wrong type';
  if (sig.length === 0) return 'empty signature';
  if (!isBase64(sig)) return 'signature not base64';
  const bytes = Buffer.from(sig, 'base64');
  if (bytes.length > MAX_SIGNATURE_BYTES) return 'signature too long';
  return typeof keyid === 'string' && keyid !== '' ? { bytes, keyHint: keyid } : { bytes };
}

/**
 * A DSSE envelope's parts, its payload decoded once, at most MAX_SIGNATURES_PER_ENVELOPE signatures.
 * An envelope whose every signature was discarded is still evidence, of something nobody trusted signed.
 */
export function envelopeOf(
  value: unknown,
  source: EnvelopeArtifact['source'],
): Parsed<Pick<EnvelopeArtifact, 'payloadType' | 'payload' | 'signatures' | 'writtenSignatures'>> {
  const malformed = (cause: Discard['cause']): Parsed<never> => ({
    discarded: [discard(source, 'malformed envelope', cause)],
  });
  if (!isObject(value)) return malformed('not an object');
  const { payload, payloadType, signatures } = value;
  if (typeof payload !== 'string') return malformed('no payload');
  if (!isBase64(payload)) return malformed('payload not base64');
  if (typeof payloadType !== 'string') return malformed('no payload type');
  if (!Array.isArray(signatures)) return malformed('signatures not a list');
  const entries = signatures as unknown[];
  const usable: CandidateSignature[] = [];
  const discarded: Discard[] = [];
  const read = Math.min(entries.length, MAX_SIGNATURES_PER_ENVELOPE);
  for (let i = 0; i < read; i++) {
    const signature = signatureOf(entries[i]);
    if (typeof signature === 'string') discarded.push(discard(source, 'malformed signature', signature));
    else usable.push(signature);
  }
  if (entries.length > read)
    discarded.push(
      discard(source, 'signatures over budget', 'over budget', { count: entries.length - read }),
    );
  return {
    value: {
      payloadType,
      payload: Buffer.from(payload, 'base64'),
      signatures: usable,
      writtenSignatures: entries.length,
    },
    discarded,
  };
}

/** A transparency-log entry whose every present field has its type, or why it is not one. */
export function tlogEntryOf(
  value: unknown,
): TlogEntry | 'not an object' | 'field of the wrong type' | 'proof too long' {
  if (!isObject(value)) return 'not an object';
  const logId = objectField(value, 'logId');
  const kindVersion = objectField(value, 'kindVersion');
  const promise = objectField(value, 'inclusionPromise');
  const proof = objectField(value, 'inclusionProof');
  const logIndex = int64Field(value, 'logIndex');
  const integratedTime = int64Field(value, 'integratedTime');
  const canonicalizedBody = stringField(value, 'canonicalizedBody');
  if ([logId, kindVersion, promise, proof, logIndex, integratedTime, canonicalizedBody].includes(false))
    return 'field of the wrong type';
  const keyId = logId ? stringField(logId, 'keyId') : undefined;
  const kind = kindVersion ? stringField(kindVersion, 'kind') : undefined;
  const version = kindVersion ? stringField(kindVersion, 'version') : undefined;
  const signedEntryTimestamp = promise ? stringField(promise, 'signedEntryTimestamp') : undefined;
  if ([keyId, kind, version, signedEntryTimestamp].includes(false)) return 'field of the wrong type';
  let inclusionProof: TlogEntry['inclusionProof'];
  if (proof) {
    const parsed = inclusionProofOf(proof);
    if (parsed === false) return 'field of the wrong type';
    if (parsed === 'proof too long') return parsed;
    inclusionProof = parsed;
  }
  return {
    ...(logIndex !== undefined ? { logIndex: logIndex as string } : {}),
    ...(logId ? { logId: keyId !== undefined ? { keyId: keyId as string } : {} } : {}),
    ...(kindVersion
      ? {
          kindVersion: {
            ...(kind !== undefined ? { kind: kind as string } : {}),
            ...(version !== undefined ? { version: version as string } : {}),
          },
        }
      : {}),
    ...(integratedTime !== undefined ? { integratedTime: integratedTime as string } : {}),
    ...(promise
      ? {
          inclusionPromise:
            signedEntryTimestamp !== undefined
              ? { signedEntryTimestamp: signedEntryTimestamp as string }
              : {},
        }
      : {}),
    ...(canonicalizedBody !== undefined ? { canonicalizedBody: canonicalizedBody as string } : {}),
    ...(inclusionProof ? { inclusionProof } : {}),
  };
}

function inclusionProofOf(proof: JsonObject): TlogEntry['inclusionProof'] | false | 'proof too long' {
  const logIndex = int64Field(proof, 'logIndex');
  const treeSize = int64Field(proof, 'treeSize');
  const rootHash = stringField(proof, 'rootHash');
  const checkpoint = objectField(proof, 'checkpoint');
  const envelope = checkpoint ? stringField(checkpoint, 'envelope') : undefined;
  if ([logIndex, treeSize, rootHash, checkpoint, envelope].includes(false)) return false;
  const { hashes } = proof;
  let hashList: string[] | undefined;
  if (hashes !== undefined && hashes !== null) {
    if (!Array.isArray(hashes) || !(hashes as unknown[]).every((hash) => typeof hash === 'string'))
      return false;
    // A proof longer than any tree can need is not a proof, and is not walked.
    if (hashes.length > MAX_INCLUSION_PROOF_HASHES) return 'proof too long';
    hashList = hashes as string[];
  }
  return {
    ...(logIndex !== undefined ? { logIndex: logIndex as string } : {}),
    ...(rootHash !== undefined ? { rootHash: rootHash as string } : {}),
    ...(treeSize !== undefined ? { treeSize: treeSize as string } : {}),
    ...(hashList ? { hashes: hashList } : {}),
    ...(checkpoint ? { checkpoint: envelope !== undefined ? { envelope: envelope as string } : {} } : {}),
  };
}

/** Up to MAX_TLOG_ENTRIES_PER_BUNDLE entries that fit; the rest discarded, each counted. */
function tlogEntriesOf(list: unknown): Parsed<TlogEntry[]> {
  const source = 'sigstore bundle';
  if (list === undefined || list === null) return { value: [], discarded: [] };
  if (!Array.isArray(list))
    return { value: [], discarded: [discard(source, 'malformed log entry', 'log entries not a list')] };
  const entries = list as unknown[];
  const value: TlogEntry[] = [];
  const discarded: Discard[] = [];
  const read = Math.min(entries.length, MAX_TLOG_ENTRIES_PER_BUNDLE);
  for (let i = 0; i < read; i++) {
    const entry = tlogEntryOf(entries[i]);
    if (typeof entry === 'string') discarded.push(discard(source, 'malformed log entry', entry));
    else value.push(entry);
  }
  if (entries.length > read)
    discarded.push(
      discard(source, 'log entries over budget', 'over budget', { count: entries.length - read }),
    );
  return { value, discarded };
}

/**
 * RFC 3161 timestamps from base64 DER, at most MAX_TIMESTAMPS_PER_SIGNATURE, none longer than
 * MAX_TIMESTAMP_BYTES; what is not base64, or too long, is discarded here, the rest read into their
 * validated shape when judged (TimestampBytes).
 */
export function timestampsOf(source: EvidenceSource, written: readonly unknown[]): Parsed<TimestampBytes[]> {
  const value: TimestampBytes[] = [];
  const discarded: Discard[] = [];
  const read = Math.min(written.length, MAX_TIMESTAMPS_PER_SIGNATURE);
  for (let i = 0; i < read; i++) {
    const entry = written[i];
    if (typeof entry !== 'string' || entry === '' || !isBase64(entry)) {
      discarded.push(discard(source, 'malformed timestamp', 'field of the wrong type'));
      continue;
    }
    // Four base64 characters hold three bytes: longer text is longer DER, and is not decoded.
    if (entry.length > Math.ceil(MAX_TIMESTAMP_BYTES / 3) * 4) {
      discarded.push(discard(source, 'malformed timestamp', 'timestamp too long'));
      continue;
    }
    value.push(Buffer.from(entry, 'base64'));
  }
  if (written.length > read)
    discarded.push(
      discard(source, 'timestamps over budget', 'over budget', { count: written.length - read }),
    );
  return { value, discarded };
}

/** Why a timestamp's DER is not one, as a discard's cause. */
export const TIMESTAMP_CAUSE = {
  unreadable: 'timestamp unreadable',
  'too long': 'timestamp too long',
  'not granted': 'timestamp not granted',
  'unsupported algorithm': 'unsupported algorithm',
} as const;

/** cosign's classic annotation: `{"SignedRFC3161Timestamp": "<base64 DER>"}`. */
function annotationTimestamps(source: 'sig tag' | 'att tag', layer: Descriptor): Parsed<TimestampBytes[]> {
  const written = annotation(layer, TIMESTAMP_ANNOTATION);
  if (written === undefined || written === '') return { value: [], discarded: [] };
  const json = written === false ? undefined : parseJson(Buffer.from(written, 'utf8'));
  if (!isObject(json) || typeof json.SignedRFC3161Timestamp !== 'string')
    return { value: [], discarded: [discard(source, 'malformed timestamp', 'field of the wrong type')] };
  return timestampsOf(source, [json.SignedRFC3161Timestamp]);
}

/** A layer's annotation we read: a string, absent, or (present with another type) `false`. */
const annotation = (layer: Descriptor, key: string): string | undefined | false =>
  stringField(layer.annotations, key);

/** The signing certificate and chain a classic layer carries in its annotations. */
function classicSigner(layer: Descriptor, source: 'sig tag' | 'att tag'): Parsed<SignerMaterial> {
  const certificate = annotation(layer, CERTIFICATE_ANNOTATION);
  const chain = annotation(layer, CHAIN_ANNOTATION);
  const discarded: Discard[] = [];
  if (certificate === false || chain === false)
    discarded.push(discard(source, 'malformed certificate', 'field of the wrong type'));
  const leaf = pemCertificates(source, certificate || undefined, 1, 'ignored');
  const intermediates = pemCertificates(source, chain || undefined, MAX_CHAIN_CERTIFICATES, 'counted');
  const timestamps = annotationTimestamps(source, layer);
  return {
    value: {
      certificate: leaf.value?.[0],
      chain: intermediates.value ?? [],
      timestamps: timestamps.value ?? [],
    },
    discarded: [...discarded, ...leaf.discarded, ...intermediates.discarded, ...timestamps.discarded],
  };
}

/** A layer of the `.sig` tag: the simple-signing blob, its signature in an annotation. */
export function classicSignatureOf(layer: Descriptor, blob: Buffer): Parsed<Artifact> {
  const source = 'sig tag';
  const signature = annotation(layer, SIGNATURE_ANNOTATION);
  if (signature === false)
    return {
      discarded: [
        discard(source, 'malformed signature', 'field of the wrong type', { subject: layer.digest }),
      ],
    };
  if (!signature)
    return {
      discarded: [
        discard(source, 'malformed signature', 'no signature annotation', { subject: layer.digest }),
      ],
    };
  const candidate = signatureOf({ sig: signature });
  if (typeof candidate === 'string')
    return { discarded: [discard(source, 'malformed signature', candidate, { subject: layer.digest })] };
  const signer = classicSigner(layer, source);
  return {
    value: {
      kind: 'simple signing',
      source,
      artifact: layer.digest,
      payload: blob,
      signatures: [candidate],
      signer: signer.value!,
      // cosign stamps the signature's raw bytes.
      stamped: candidate.bytes,
    },
    discarded: signer.discarded,
  };
}

/** A layer of the `.att` tag: a DSSE envelope, the signer's certificate in annotations. */
export function classicAttestationOf(layer: Descriptor, blob: Buffer): Parsed<Artifact> {
  const source = 'att tag';
  const json = parseJson(blob);
  if (json === undefined)
    return { discarded: [discard(source, 'malformed envelope', 'not JSON', { subject: layer.digest })] };
  const envelope = envelopeOf(json, source);
  if (!envelope.value) return envelope as Parsed<never>;
  const signer = classicSigner(layer, source);
  return {
    value: {
      kind: 'dsse',
      source,
      artifact: layer.digest,
      ...envelope.value,
      signer: signer.value!,
      tlogEntries: [],
      // An attestation layer has no signature annotation, so cosign stamps the layer itself.
      stamped: blob,
    },
    discarded: [...envelope.discarded, ...signer.discarded],
  };
}

/** The signer a bundle names: a key hint, or a certificate (v0.3) or chain (v0.1, v0.2). */
function bundleSigner(material: JsonObject): Parsed<SignerMaterial> {
  const source = 'sigstore bundle';
  const discarded: Discard[] = [];
  const publicKey = objectField(material, 'publicKey');
  const hint = publicKey ? stringField(publicKey, 'hint') : undefined;
  const certificate = objectField(material, 'certificate');
  const chainObject = objectField(material, 'x509CertificateChain');
  if (publicKey === false || hint === false || certificate === false || chainObject === false)
    discarded.push(discard(source, 'malformed certificate', 'field of the wrong type'));
  const written: unknown[] = [];
  if (certificate) written.push(certificate);
  if (chainObject) {
    const list = chainObject.certificates;
    if (Array.isArray(list)) written.push(...(list as unknown[]).slice(0, MAX_CHAIN_CERTIFICATES + 1));
    else if (list !== undefined) discarded.push(discard(source, 'malformed certificate', 'chain not a list'));
    if (Array.isArray(list) && list.length > MAX_CHAIN_CERTIFICATES + 1)
      discarded.push(
        discard(source, 'certificates over budget', 'over budget', {
          count: list.length - MAX_CHAIN_CERTIFICATES - 1,
        }),
      );
  }
  // The leaf keeps its place: an unreadable leaf is no certificate, not its issuer promoted.
  const parsed = written.slice(0, MAX_CHAIN_CERTIFICATES + 1).map((entry) => rawCertificate(source, entry));
  for (const entry of parsed) if (!(entry instanceof X509Certificate)) discarded.push(entry);
  const [leaf, ...chain] = parsed;
  const timestamps = bundleTimestamps(material);
  discarded.push(...timestamps.discarded);
  return {
    value: {
      ...(typeof hint === 'string' && hint !== '' ? { keyHint: hint } : {}),
      certificate: leaf instanceof X509Certificate ? leaf : undefined,
      chain: chain.filter((c): c is X509Certificate => c instanceof X509Certificate),
      timestamps: timestamps.value ?? [],
    },
    discarded,
  };
}

/** `verificationMaterial.timestampVerificationData.rfc3161Timestamps[].signedTimestamp`. */
function bundleTimestamps(material: JsonObject): Parsed<TimestampBytes[]> {
  const source = 'sigstore bundle';
  const data = objectField(material, 'timestampVerificationData');
  if (data === undefined) return { value: [], discarded: [] };
  const list = data === false ? false : data.rfc3161Timestamps;
  if (list === undefined || list === null) return { value: [], discarded: [] };
  if (!Array.isArray(list))
    return { value: [], discarded: [discard(source, 'malformed timestamp', 'field of the wrong type')] };
  const entries = list as unknown[];
  // Only the first MAX_TIMESTAMPS_PER_SIGNATURE are looked at; timestampsOf counts the rest.
  return timestampsOf(
    source,
    entries.map((entry, index) =>
      index >= MAX_TIMESTAMPS_PER_SIGNATURE ? undefined : isObject(entry) ? entry.signedTimestamp : undefined,
    ),
  );
}

/**
 * A sigstore bundle, read from its JSON: the DSSE envelope, the signer and the log entries.
 * https://github.com/sigstore/protobuf-specs/blob/main/protos/sigstore_bundle.proto
 */
export function bundleOf(artifact: string, bytes: Buffer): Parsed<Artifact> {
  const source = 'sigstore bundle';
  const json = parseJson(bytes);
  if (json === undefined)
    return { discarded: [discard(source, 'malformed bundle', 'not JSON', { subject: artifact })] };
  if (!isObject(json))
    return { discarded: [discard(source, 'malformed bundle', 'not an object', { subject: artifact })] };
  const material = objectField(json, 'verificationMaterial');
  if (material === false)
    return {
      discarded: [discard(source, 'malformed bundle', 'field of the wrong type', { subject: artifact })],
    };
  if (json.dsseEnvelope === undefined || json.dsseEnvelope === null)
    return { value: { kind: 'no envelope', source, artifact }, discarded: [] };
  const envelope = envelopeOf(json.dsseEnvelope, source);
  if (!envelope.value) return envelope as Parsed<never>;
  const signer = bundleSigner(material ?? {});
  const entries = tlogEntriesOf(material ? material.tlogEntries : undefined);
  return {
    value: {
      kind: 'dsse',
      source,
      artifact,
      ...envelope.value,
      signer: signer.value!,
      tlogEntries: entries.value ?? [],
      // A bundle's envelope carries one signature, and that is what its timestamps stamp.
      stamped: envelope.value.signatures[0]?.bytes ?? Buffer.alloc(0),
    },
    discarded: [...envelope.discarded, ...signer.discarded, ...entries.discarded],
  };
}
