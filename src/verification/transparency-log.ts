import { KeyObject, X509Certificate, createHash } from 'node:crypto';
import type { TlogEntry } from './evidence';
import { isObject } from './evidence-parser';
import { SignatureScheme, signatureVerifies } from './signature-crypto';
import { TrustedLog } from './trust';
import { MAX_CHECKPOINT_SIGNATURES } from './verification-budgets';
import { tlogProblemText } from './verification-words';

const sha256 = (...parts: Buffer[]): Buffer => {
  const hash = createHash('sha256');
  for (const part of parts) hash.update(part);
  return hash.digest();
};

/**
 * One signature check, or `'over budget'` once the verification may make no more: every check a
 * log entry needs (its checkpoint, its signed entry timestamp) is paid from the same budget as the
 * envelope's own signatures.
 */
export type SignatureCheck = (
  key: KeyObject,
  data: Buffer,
  signature: Buffer,
  scheme?: SignatureScheme,
) => boolean | 'over budget';

const unbounded: SignatureCheck = signatureVerifies;

/**
 * RFC 9162 §2.1.3.2: whether `proof` shows the leaf at `index` inside the tree of `size` leaves
 * whose root is `root`.
 */
export function inclusionProofVerifies(
  index: bigint,
  size: bigint,
  leafHash: Buffer,
  proof: readonly Buffer[],
  root: Buffer,
): boolean {
  if (index >= size || index < 0n) return false;
  let fn = index;
  let sn = size - 1n;
  let r = leafHash;
  for (const p of proof) {
    if (sn === 0n) return false;
    if ((fn & 1n) === 1n || fn === sn) {
      r = sha256(Buffer.from([1]), p, r);
      if ((fn & 1n) === 0n) {
        while ((fn & 1n) === 0n && fn !== 0n) {
          fn >>= 1n;
          sn >>= 1n;
        }
      }
    } else {
      r = sha256(Buffer.from([1]), r, p);
    }
    fn >>= 1n;
    sn >>= 1n;
  }
  return sn === 0n && r.equals(root);
}

/** A leaf's hash in the log's Merkle tree: RFC 9162 prefixes leaves with 0x00. */
export const leafHash = (body: Buffer): Buffer => sha256(Buffer.from([0]), body);

/**
 * Whether a checkpoint (a signed note: origin, tree size, base64 root hash, then signature lines
 * `— <name> <base64(key hint ‖ signature)>`) is signed by `log` and states `size` and `root`.
 * https://github.com/transparency-dev/formats/blob/main/log/README.md
 */
export function checkpointVerifies(
  envelope: string,
  log: TrustedLog,
  size: bigint,
  root: Buffer,
  check: SignatureCheck = unbounded,
): boolean | 'over budget' {
  const split = envelope.indexOf('\n\n');
  if (split < 0) return false;
  const note = envelope.slice(0, split + 1);
  const [, sizeLine, rootLine] = note.split('\n', 3);
  if (sizeLine !== size.toString() || rootLine !== root.toString('base64')) return false;
  // The key hint is the first four bytes of the log's id: its key's hash (Rekor v1), or the
  // signed-note key id a trusted root gives a Rekor v2 log as its logId or checkpointKeyId.
  const hints = [log.logId, ...(log.otherIds ?? [])].map((id) => Buffer.from(id, 'hex').subarray(0, 4));
  const signed = Buffer.from(note, 'utf8');
  // The log's own line and a few witnesses' are all a checkpoint carries; more are not read.
  const lines = envelope
    .slice(split + 2)
    .split('\n', MAX_CHECKPOINT_SIGNATURES * 2)
    .filter((line) => line.startsWith('— '))
    .slice(0, MAX_CHECKPOINT_SIGNATURES);
  for (const line of lines) {
    const signature = Buffer.from(line.slice(line.lastIndexOf(' ') + 1), 'base64');
    if (signature.length <= 4 || !hints.some((hint) => signature.subarray(0, 4).equals(hint))) continue;
    const verified = check(log.key, signed, signature.subarray(4));
    if (verified !== false) return verified;
  }
  return false;
}

/**
 * What a DSSE entry of Rekor records: the payload's hash and the envelope's signatures. Rekor v1
 * writes `dsse` 0.0.1 (hex hash, `signature`); Rekor v2 (rekor-tiles) writes 0.0.2, its protobuf
 * Entry as JSON (base64 `digest`, `content`) under `spec.dsseV002`.
 * https://github.com/sigstore/rekor-tiles/blob/main/api/proto/rekor/v2/dsse.proto
 */
interface DsseEntryBody {
  kind?: unknown;
  apiVersion?: unknown;
  spec?: {
    payloadHash?: { algorithm?: unknown; value?: unknown };
    signatures?: unknown;
    dsseV002?: {
      payloadHash?: { algorithm?: unknown; digest?: unknown };
      signatures?: unknown;
    };
  };
}

/** Who the log checked a signature against: a certificate's DER or a public key's SPKI DER. */
type RecordedVerifier = { readonly certificate: Buffer } | { readonly publicKey: Buffer };

/**
 * A signature's verifier as the body records it: v1 writes a PEM (base64), v2 its protobuf
 * Verifier as JSON. Only compared byte for byte, never parsed.
 */
function recordedVerifier(written: unknown, v2: boolean): RecordedVerifier | undefined {
  if (v2) {
    if (!isObject(written)) return undefined;
    const bytes = (field: unknown): Buffer | undefined =>
      isObject(field) && typeof field.rawBytes === 'string'
        ? Buffer.from(field.rawBytes, 'base64')
        : undefined;
    const certificate = bytes(written.x509Certificate);
    const publicKey = bytes(written.publicKey);
    return certificate ? { certificate } : publicKey ? { publicKey } : undefined;
  }
  if (typeof written !== 'string') return undefined;
  const pem = /-----BEGIN (CERTIFICATE|PUBLIC KEY)-----([A-Za-z0-9+/=\s]+)-----END \1-----/.exec(
    Buffer.from(written, 'base64').toString('utf8'),
  );
  if (!pem) return undefined;
  const der = Buffer.from(pem[2].replace(/\s/g, ''), 'base64');
  return pem[1] === 'CERTIFICATE' ? { certificate: der } : { publicKey: der };
}

/**
 * The payload hash (hex) a DSSE entry body records, v1 or v2, and its signatures (base64), each
 * with the verifiers the log checked it against.
 */
function recordedEnvelope(body: DsseEntryBody): {
  payloadSha256?: unknown;
  signatures: Map<string, RecordedVerifier[]>;
} {
  const v2 = body.apiVersion === '0.0.2' ? body.spec?.dsseV002 : undefined;
  const list = v2 ? v2.signatures : body.spec?.signatures;
  const signatures = new Map<string, RecordedVerifier[]>();
  for (const s of Array.isArray(list) ? (list as unknown[]) : []) {
    const written = isObject(s) ? (v2 ? s.content : s.signature) : undefined;
    if (typeof written !== 'string') continue;
    const verifiers = signatures.get(written) ?? [];
    // A hostile body may repeat one signature: a few of its verifiers are looked at, no more.
    if (verifiers.length < MAX_VERIFIERS_PER_SIGNATURE) {
      const verifier = recordedVerifier(isObject(s) ? s.verifier : undefined, v2 !== undefined);
      if (verifier) verifiers.push(verifier);
    }
    signatures.set(written, verifiers);
  }
  if (!v2) return { payloadSha256: body.spec?.payloadHash?.value, signatures };
  const { algorithm, digest } = v2.payloadHash ?? {};
  return {
    payloadSha256:
      algorithm === 'SHA2_256' && typeof digest === 'string'
        ? Buffer.from(digest, 'base64').toString('hex')
        : undefined,
    signatures,
  };
}

/** Verifiers of one signature looked at in an entry's body. */
const MAX_VERIFIERS_PER_SIGNATURE = 4;

/**
 * Whether the log recorded the signature under the bundle's own signer: its certificate, byte for
 * byte, or (a keyed bundle) one of the rule's trusted keys. A log entry vouches for the pair it
 * recorded; the same signature under a bare key or someone else's certificate would keep the
 * certificate out of the log, where its owner's monitor looks (sigstore-go: "transparency log
 * certificate does not match").
 */
function recordedBySigner(verifiers: readonly RecordedVerifier[], envelope: LoggedEnvelope): boolean {
  const { certificate } = envelope;
  if (certificate) return verifiers.some((v) => 'certificate' in v && v.certificate.equals(certificate.raw));
  const keys = envelope.keys.map((key) => key.export({ type: 'spki', format: 'der' }));
  return verifiers.some((v) => 'publicKey' in v && keys.some((key) => key.equals(v.publicKey)));
}

/** Why a transparency-log entry proves nothing, as a code; `tlogProblemText` gives its words. */
export type TlogProblem =
  | { readonly code: 'unknown log' }
  | { readonly code: 'no inclusion proof' }
  | { readonly code: 'no body' }
  | { readonly code: 'body not JSON' }
  | { readonly code: 'kind not read'; readonly kind: string }
  | { readonly code: 'other envelope' }
  | { readonly code: 'other signer' }
  | { readonly code: 'no index or size' }
  | { readonly code: 'proof off its root' }
  | { readonly code: 'checkpoint not signed' }
  | { readonly code: 'over budget' };

/**
 * What a log entry is checked against: the envelope's payload hash, computed once, its signatures,
 * and who must have been recorded as their verifier.
 */
export interface LoggedEnvelope {
  /** Hex SHA-256 of the payload, once per envelope however many entries it has. */
  readonly payloadSha256: string;
  readonly signatures: readonly Buffer[];
  /** The bundle's signing certificate: the verifier the log must have recorded. */
  readonly certificate?: X509Certificate;
  /** Without a certificate, the rule's trusted keys: the log must have recorded one of them. */
  readonly keys: readonly KeyObject[];
}

/**
 * Whether a bundle's transparency-log entry proves its DSSE envelope was logged, and when it was
 * integrated if the log signed that time. Checked offline against the trusted root's log keys: the
 * entry's log is trusted, its body records this envelope, the inclusion proof leads from the body
 * to the root, and the checkpoint stating that root is signed by the log.
 */
export function tlogOutcome(
  entry: TlogEntry,
  envelope: LoggedEnvelope,
  logs: readonly TrustedLog[],
  check: SignatureCheck = unbounded,
): { problem: TlogProblem } | { integratedAt?: Date } {
  const problem = (code: Exclude<TlogProblem['code'], 'kind not read'>) => ({ problem: { code } });
  const logId = entry.logId?.keyId ? Buffer.from(entry.logId.keyId, 'base64').toString('hex') : undefined;
  const log = logs.find((l) => logId !== undefined && (l.logId === logId || l.otherIds?.includes(logId)));
  if (!log) return problem('unknown log');
  const proof = entry.inclusionProof;
  if (!proof?.rootHash || !proof.treeSize || proof.logIndex === undefined || !proof.checkpoint?.envelope)
    return problem('no inclusion proof');
  if (!entry.canonicalizedBody) return problem('no body');
  const body = Buffer.from(entry.canonicalizedBody, 'base64');
  let recorded: DsseEntryBody;
  try {
    recorded = JSON.parse(body.toString('utf8')) as DsseEntryBody;
  } catch {
    return problem('body not JSON');
  }
  if (recorded?.kind !== 'dsse') return { problem: { code: 'kind not read', kind: String(recorded?.kind) } };
  // The body is what the proof covers; the entry's own kind and version beside it are not, and
  // must agree with it (as sigstore-js checks).
  const version = entry.kindVersion?.version;
  if (
    (version !== undefined && version !== recorded.apiVersion) ||
    !['0.0.1', '0.0.2'].includes(String(recorded.apiVersion))
  )
    return { problem: { code: 'kind not read', kind: `dsse ${String(recorded.apiVersion)}` } };
  const { payloadSha256, signatures: loggedSignatures } = recordedEnvelope(recorded);
  // Every signature of the envelope must be the log's: one logged signature does not vouch for
  // another put beside it later, which may be the very one that verifies.
  if (
    payloadSha256 !== envelope.payloadSha256 ||
    envelope.signatures.length === 0 ||
    !envelope.signatures.every((s) => loggedSignatures.has(s.toString('base64')))
  )
    return problem('other envelope');
  if (
    !envelope.signatures.every((s) => recordedBySigner(loggedSignatures.get(s.toString('base64'))!, envelope))
  )
    return problem('other signer');
  let index: bigint;
  let size: bigint;
  try {
    index = BigInt(proof.logIndex);
    size = BigInt(proof.treeSize);
  } catch {
    return problem('no index or size');
  }
  const root = Buffer.from(proof.rootHash, 'base64');
  const hashes = (proof.hashes ?? []).map((h) => Buffer.from(h, 'base64'));
  if (!inclusionProofVerifies(index, size, leafHash(body), hashes, root))
    return problem('proof off its root');
  const signed = checkpointVerifies(proof.checkpoint.envelope, log, size, root, check);
  if (signed === 'over budget') return problem('over budget');
  if (!signed) return problem('checkpoint not signed');
  return { integratedAt: promisedTime(entry, body, log, check) };
}

/**
 * `tlogOutcome` in the words explanations use, for one entry checked on its own: the payload is
 * hashed here, which a verification does once per envelope instead.
 */
export function tlogProblem(
  entry: TlogEntry,
  envelope: Omit<LoggedEnvelope, 'payloadSha256'> & { readonly payload: Buffer },
  logs: readonly TrustedLog[],
): { problem: string } | { integratedAt?: Date } {
  const payloadSha256 = createHash('sha256').update(envelope.payload).digest('hex');
  const outcome = tlogOutcome(entry, { ...envelope, payloadSha256 }, logs);
  return 'problem' in outcome ? { problem: tlogProblemText(outcome.problem) } : outcome;
}

/**
 * The time the log integrated the entry, but only when the log signed it: the inclusion proof
 * covers the body, not `integratedTime`, so an unsigned time could be edited to bring an expired
 * signing certificate back inside its validity. Without a verifying signed entry timestamp the
 * certificate is judged now.
 * https://github.com/sigstore/rekor/blob/main/pkg/verify/verify.go (VerifySignedEntryTimestamp)
 */
function promisedTime(
  entry: TlogEntry,
  body: Buffer,
  log: TrustedLog,
  check: SignatureCheck,
): Date | undefined {
  const timestamp = entry.inclusionPromise?.signedEntryTimestamp;
  const seconds = Number(entry.integratedTime);
  const index = Number(entry.logIndex);
  if (!timestamp || !Number.isSafeInteger(seconds) || !Number.isSafeInteger(index)) return undefined;
  // RFC 8785 canonical JSON of the promise: keys sorted, no spaces.
  const promise = JSON.stringify({
    body: body.toString('base64'),
    integratedTime: seconds,
    logID: log.logId,
    logIndex: index,
  });
  return check(log.key, Buffer.from(promise, 'utf8'), Buffer.from(timestamp, 'base64')) === true
    ? new Date(seconds * 1000)
    : undefined;
}
