import { decodeFirstSync, encode } from 'cbor';
import { X509Certificate } from 'node:crypto';
import type { Discard, NotationArtifact } from './evidence';
import { discard } from './evidence';
import { Parsed, isObject, parseJson, timestampsOf } from './evidence-parser';
import type { SignatureScheme } from './signature-crypto';
import { MAX_CHAIN_CERTIFICATES, MAX_COSE_DEPTH, MAX_COSE_ITEMS } from './verification-budgets';

// Notary Project signature envelopes, JWS (flattened JSON serialization) and COSE_Sign1, read into
// the validated evidence shape. Nothing here judges them: which headers are understood, which
// algorithm the certificate's key allows, and whether the chain is trusted are the verifier's.
// https://github.com/notaryproject/specifications/blob/main/specs/signature-envelope-jws.md
// https://github.com/notaryproject/specifications/blob/main/specs/signature-envelope-cose.md

export const NOTARY_SIGNATURE_TYPE = 'application/vnd.cncf.notary.signature';
export const JWS_ENVELOPE_TYPE = 'application/jose+json';
export const COSE_ENVELOPE_TYPE = 'application/cose';
export const NOTARY_PAYLOAD_TYPE = 'application/vnd.cncf.notary.payload.v1+json';

export const SIGNING_SCHEME = 'io.cncf.notary.signingScheme';
export const SIGNING_TIME = 'io.cncf.notary.signingTime';
export const AUTHENTIC_SIGNING_TIME = 'io.cncf.notary.authenticSigningTime';
export const EXPIRY = 'io.cncf.notary.expiry';
const TIMESTAMP_SIGNATURE = 'io.cncf.notary.timestampSignature';

/** The signature algorithms the Notary Project allows, and how each signs. */
export type NotationAlgorithm = 'PS256' | 'PS384' | 'PS512' | 'ES256' | 'ES384' | 'ES512';

export const NOTATION_ALGORITHMS: Readonly<
  Record<NotationAlgorithm, { readonly scheme: SignatureScheme; readonly cose: number }>
> = {
  PS256: { scheme: { hash: 'sha256', pss: true }, cose: -37 },
  PS384: { scheme: { hash: 'sha384', pss: true }, cose: -38 },
  PS512: { scheme: { hash: 'sha512', pss: true }, cose: -39 },
  ES256: { scheme: { hash: 'sha256', encoding: 'ieee-p1363' }, cose: -7 },
  ES384: { scheme: { hash: 'sha384', encoding: 'ieee-p1363' }, cose: -35 },
  ES512: { scheme: { hash: 'sha512', encoding: 'ieee-p1363' }, cose: -36 },
};

const byCoseLabel = new Map(
  Object.entries(NOTATION_ALGORITHMS).map(([name, { cose }]) => [cose, name as NotationAlgorithm]),
);

/** The protected (signed) headers as written, each with the type it claims or left out. */
export interface NotationHeaders {
  readonly contentType?: string;
  readonly signingScheme?: string;
  readonly signingTime?: Date;
  readonly authenticSigningTime?: Date;
  readonly expiry?: Date;
  /** `crit` as written: header names (a COSE integer label is written as its number). */
  readonly critical: readonly string[];
  /** Every header name present, so that a critical one that is absent can be told. */
  readonly present: readonly string[];
}

const BASE64URL = /^[A-Za-z0-9_-]*$/;

const base64url = (text: unknown): Buffer | undefined =>
  typeof text === 'string' && BASE64URL.test(text) ? Buffer.from(text, 'base64url') : undefined;

/** An RFC 3339 time as JWS headers write it, or undefined when absent, or false when not one. */
function rfc3339(value: unknown): Date | undefined | false {
  if (value === undefined) return undefined;
  if (typeof value !== 'string') return false;
  const at = new Date(value);
  return Number.isNaN(at.getTime()) ? false : at;
}

/** The certificates of a chain (DER each), at most MAX_CHAIN_CERTIFICATES + 1, or why not. */
function chainOf(written: readonly Buffer[]): X509Certificate[] | undefined {
  if (written.length === 0 || written.length > MAX_CHAIN_CERTIFICATES + 1) return undefined;
  try {
    return written.map((der) => new X509Certificate(der));
  } catch {
    return undefined;
  }
}

const malformed = (artifact: string, cause: Discard['cause']): Parsed<never> => ({
  discarded: [discard('notation signature', 'malformed envelope', cause, { subject: artifact })],
});

/**
 * A JWS envelope in the flattened JSON serialization: `payload`, `protected` and `signature` in
 * base64url, and the unprotected `header` with `x5c` (standard base64 DER, signing certificate
 * first) and perhaps `io.cncf.notary.timestampSignature`.
 */
export function jwsEnvelopeOf(artifact: string, bytes: Buffer): Parsed<NotationArtifact> {
  const json = parseJson(bytes);
  if (!isObject(json)) return malformed(artifact, json === undefined ? 'not JSON' : 'not an object');
  const { payload, protected: protectedHeader, signature, header } = json;
  const payloadBytes = base64url(payload);
  const protectedBytes = base64url(protectedHeader);
  const signatureBytes = base64url(signature);
  if (!payloadBytes || !protectedBytes || !signatureBytes || signatureBytes.length === 0 || !isObject(header))
    return malformed(artifact, 'field of the wrong type');
  const headers = parseJson(protectedBytes);
  if (!isObject(headers)) return malformed(artifact, 'field of the wrong type');
  const { x5c, [TIMESTAMP_SIGNATURE]: countersignature } = header;
  if (
    !Array.isArray(x5c) ||
    !(x5c as unknown[]).every((entry) => typeof entry === 'string') ||
    (countersignature !== undefined && typeof countersignature !== 'string')
  )
    return malformed(artifact, 'field of the wrong type');
  const chain = chainOf((x5c as string[]).map((entry) => Buffer.from(entry, 'base64')));
  if (!chain) return malformed(artifact, 'certificate unreadable');
  const signingTime = rfc3339(headers[SIGNING_TIME]);
  const authenticSigningTime = rfc3339(headers[AUTHENTIC_SIGNING_TIME]);
  const expiry = rfc3339(headers[EXPIRY]);
  const { crit, alg, cty, [SIGNING_SCHEME]: scheme } = headers;
  if (
    [signingTime, authenticSigningTime, expiry].includes(false) ||
    (crit !== undefined &&
      (!Array.isArray(crit) || !(crit as unknown[]).every((c) => typeof c === 'string'))) ||
    (cty !== undefined && typeof cty !== 'string') ||
    (scheme !== undefined && typeof scheme !== 'string')
  )
    return malformed(artifact, 'field of the wrong type');
  const timestamps = timestampsOf(
    'notation signature',
    countersignature === undefined ? [] : [countersignature],
  );
  return {
    value: {
      kind: 'notation',
      source: 'notation signature',
      artifact,
      format: 'JWS',
      ...(typeof alg === 'string' && alg in NOTATION_ALGORITHMS
        ? { algorithm: alg as NotationAlgorithm }
        : {}),
      // RFC 7515 §5.2: the signature covers the two base64url strings exactly as written.
      signed: Buffer.from(`${protectedHeader as string}.${payload as string}`, 'ascii'),
      signature: signatureBytes,
      payload: payloadBytes,
      headers: {
        ...(typeof cty === 'string' ? { contentType: cty } : {}),
        ...(typeof scheme === 'string' ? { signingScheme: scheme } : {}),
        ...(signingTime ? { signingTime } : {}),
        ...(authenticSigningTime ? { authenticSigningTime } : {}),
        ...(expiry ? { expiry } : {}),
        critical: (crit as string[] | undefined) ?? [],
        present: Object.keys(headers),
      },
      chain,
      timestamps: timestamps.value ?? [],
    },
    discarded: timestamps.discarded,
  };
}

/**
 * Whether `bytes` hold one CBOR data item of at most `maxItems` items, nested at most `maxDepth`
 * deep, walking only the heads (RFC 8949 §3): a bound the decoder does not have, checked before
 * it runs. Indefinite lengths, which COSE does not use, are refused.
 */
export function cborWithinBounds(
  bytes: Buffer,
  maxItems = MAX_COSE_ITEMS,
  maxDepth = MAX_COSE_DEPTH,
): boolean {
  let offset = 0;
  let items = 0;
  // Items still to read at each open level; the walk is a loop, never a recursion.
  const open: number[] = [1];
  while (open.length > 0) {
    if (open[open.length - 1] === 0) {
      open.pop();
      continue;
    }
    open[open.length - 1]--;
    if (++items > maxItems || offset >= bytes.length) return false;
    const head = bytes[offset++];
    const major = head >> 5;
    const info = head & 0x1f;
    let argument: number;
    if (info < 24) argument = info;
    else if (info <= 27) {
      const size = 1 << (info - 24);
      if (offset + size > bytes.length) return false;
      argument = size === 8 ? Number(bytes.readBigUInt64BE(offset)) : bytes.readUIntBE(offset, size);
      offset += size;
    } else return false;
    if (major === 2 || major === 3) {
      if (argument > bytes.length - offset) return false;
      offset += argument;
    } else if (major === 4 || major === 5) {
      const children = major === 5 ? argument * 2 : argument;
      if (children > maxItems || open.length >= maxDepth) return false;
      open.push(children);
    } else if (major === 6) {
      if (open.length >= maxDepth) return false;
      open.push(1);
    }
  }
  return offset === bytes.length;
}

const decode = (bytes: Buffer): unknown =>
  decodeFirstSync(bytes, { preferMap: true, max_depth: MAX_COSE_DEPTH, preventDuplicateKeys: true });

/** A CBOR epoch date (tag 1, decoded to a Date), or undefined, or false when of another type. */
const epoch = (value: unknown): Date | undefined | false =>
  value === undefined ? undefined : value instanceof Date && !Number.isNaN(value.getTime()) ? value : false;

/**
 * A COSE_Sign1_Tagged envelope: tag 18 around [protected, unprotected, payload, signature], the
 * chain in `x5chain` (label 33) and the countersignature in `io.cncf.notary.timestampSignature`.
 */
export function coseEnvelopeOf(artifact: string, bytes: Buffer): Parsed<NotationArtifact> {
  if (!cborWithinBounds(bytes)) return malformed(artifact, 'too deeply nested');
  let message: unknown;
  let headers: unknown;
  try {
    message = decode(bytes);
    const value = (message as { tag?: unknown; value?: unknown }).value;
    if ((message as { tag?: unknown }).tag !== 18 || !Array.isArray(value) || value.length !== 4)
      return malformed(artifact, 'field of the wrong type');
    const [protectedBytes] = value as unknown[];
    if (!Buffer.isBuffer(protectedBytes) || !cborWithinBounds(protectedBytes))
      return malformed(artifact, 'field of the wrong type');
    headers = decode(protectedBytes);
  } catch {
    return malformed(artifact, 'field of the wrong type');
  }
  const [protectedBytes, unprotected, payload, signature] = (message as { value: unknown[] }).value as [
    Buffer,
    unknown,
    unknown,
    unknown,
  ];
  if (!(headers instanceof Map) || !(unprotected instanceof Map) || !Buffer.isBuffer(payload))
    return malformed(artifact, 'field of the wrong type');
  if (!Buffer.isBuffer(signature) || signature.length === 0)
    return malformed(artifact, 'field of the wrong type');
  const written = unprotected.get(33) as unknown;
  const certificates = Buffer.isBuffer(written) ? [written] : written;
  const countersignature = unprotected.get(TIMESTAMP_SIGNATURE) as unknown;
  if (
    !Array.isArray(certificates) ||
    !(certificates as unknown[]).every((c) => Buffer.isBuffer(c)) ||
    (countersignature !== undefined && !Buffer.isBuffer(countersignature))
  )
    return malformed(artifact, 'field of the wrong type');
  const chain = chainOf(certificates as Buffer[]);
  if (!chain) return malformed(artifact, 'certificate unreadable');
  const alg = headers.get(1) as unknown;
  const crit = headers.get(2) as unknown;
  const cty = headers.get(3) as unknown;
  const scheme = headers.get(SIGNING_SCHEME) as unknown;
  const signingTime = epoch(headers.get(SIGNING_TIME));
  const authenticSigningTime = epoch(headers.get(AUTHENTIC_SIGNING_TIME));
  const expiry = epoch(headers.get(EXPIRY));
  if (
    [signingTime, authenticSigningTime, expiry].includes(false) ||
    (crit !== undefined &&
      (!Array.isArray(crit) ||
        !(crit as unknown[]).every((c) => typeof c === 'string' || Number.isInteger(c)))) ||
    (cty !== undefined && typeof cty !== 'string') ||
    (scheme !== undefined && typeof scheme !== 'string')
  )
    return malformed(artifact, 'field of the wrong type');
  const algorithm = typeof alg === 'number' ? byCoseLabel.get(alg) : undefined;
  const timestamps = timestampsOf(
    'notation signature',
    countersignature === undefined ? [] : [countersignature.toString('base64')],
  );
  return {
    value: {
      kind: 'notation',
      source: 'notation signature',
      artifact,
      format: 'COSE',
      ...(algorithm ? { algorithm } : {}),
      // RFC 9052 §4.4: Sig_structure for COSE_Sign1, with no external data.
      signed: encode(['Signature1', protectedBytes, Buffer.alloc(0), payload]),
      signature,
      payload,
      headers: {
        ...(typeof cty === 'string' ? { contentType: cty } : {}),
        ...(typeof scheme === 'string' ? { signingScheme: scheme } : {}),
        ...(signingTime ? { signingTime } : {}),
        ...(authenticSigningTime ? { authenticSigningTime } : {}),
        ...(expiry ? { expiry } : {}),
        critical: ((crit as (string | number)[] | undefined) ?? []).map(String),
        present: [...headers.keys()].map(String),
      },
      chain,
      timestamps: timestamps.value ?? [],
    },
    discarded: timestamps.discarded,
  };
}

/** The envelope of a Notary Project signature manifest's layer, by its media type. */
export function notationEnvelopeOf(
  artifact: string,
  mediaType: string,
  bytes: Buffer,
): Parsed<NotationArtifact> {
  return mediaType === COSE_ENVELOPE_TYPE ? coseEnvelopeOf(artifact, bytes) : jwsEnvelopeOf(artifact, bytes);
}
